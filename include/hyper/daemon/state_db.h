// hyper::daemon::StateDb — the daemon's state database, <root>/storage/db
// (corestore::StateDbDirectory), a LevelDB laid out byte for byte as hyperdrive-daemon 1.14.5
// lays it out, so either daemon takes over the other's root (docs/formats/daemon-state.md):
//
//   !fuse!root-drive                  {"mnt": <mountpoint>, "opts": {..., "key": <hex key>}}
//   !drives!!drives!<hex key>         "[object Object]" (every drive the daemon opened; the value
//                                     carries nothing: the reference's encoding bug)
//   !drives!!mirrors!<hex key>        "mirroring"
//   !drives!!seeding!<hex disc. key>  {"key": <hex key>, "opts": {"lookup", "announce",
//   "remember"}}
//
// Keys and values are read as untrusted: a record that does not decode is a Corruption error
// naming its key, never a crash. Thread safety: every method may be called from any thread
// (LevelDB serialises them).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hyper/crypto/crypto.h"
#include "hyper/util/status.h"

namespace hyper::daemon {

// A drive's network configuration (the Drive service's configureNetwork), as the reference
// stores it.
struct NetworkConfiguration {
  bool lookup = false;
  bool announce = false;
  bool remember = false;
  bool operator==(const NetworkConfiguration&) const = default;
};

// One entry of the seeding index. The reference keeps one for each drive configured with
// remember and lookup or announce (a configuration without both is deleted instead), and at
// start rejoins the swarm for those whose `announce` is set.
struct SeedingRecord {
  crypto::Hash discovery_key{};  // the entry's key
  crypto::PublicKey key{};       // the drive's key
  NetworkConfiguration network;
  bool operator==(const SeedingRecord&) const = default;
};

// The root drive: the drive the reference's FUSE manager mounts at `mountpoint` (it stores this
// record after mounting, and mounts the same drive at the next start).
struct RootDriveRecord {
  std::string mountpoint;  // "mnt", e.g. "/home/u/Hyperdrive"
  // nullopt: no drive yet (`hyperdrive fuse-setup` records only where to mount; the daemon,
  // as the reference's, makes a new drive at its next start and records its key).
  std::optional<crypto::PublicKey> key;
  // The whole "opts" object as stored, JSON text (other mount options, such as a version, are
  // kept as they were). Empty when writing: `{"key": <hex>}`. Put sets its "key" to `key` (and
  // removes it when `key` is nullopt).
  std::string opts_json;
};

class StateDb {
 public:
  // Opens the database in `dir` (corestore::StateDbDirectory(root)), creating it (and `dir`'s
  // parents) when absent. Busy when another process has it open (a running daemon);
  // Corruption when its files do not read as a LevelDB; IOError otherwise.
  static Result<std::unique_ptr<StateDb>> Open(const std::string& dir);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // The root drive record; nullopt when there is none.
  Result<std::optional<RootDriveRecord>> RootDrive() const;
  Status PutRootDrive(const RootDriveRecord& record);

  // The seeding index (the remembered network configurations).
  Result<std::optional<SeedingRecord>> NetworkConfiguration(
      const crypto::Hash& discovery_key) const;
  Status PutNetworkConfiguration(const SeedingRecord& record);
  Status DeleteNetworkConfiguration(const crypto::Hash& discovery_key);
  // Every entry, in key order (by hex discovery key).
  Result<std::vector<SeedingRecord>> NetworkConfigurations() const;

  // The mirrored drives (a mirror downloads the whole drive and follows it).
  Status PutMirror(const crypto::PublicKey& key);
  Status DeleteMirror(const crypto::PublicKey& key);
  Result<std::vector<crypto::PublicKey>> Mirrors() const;  // in key order

  // The drive index: every drive the daemon opened (and every drive mounted in one).
  Status PutDrive(const crypto::PublicKey& key);
  Result<std::vector<crypto::PublicKey>> Drives() const;  // in key order

 private:
  struct Impl;
  explicit StateDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper::daemon
