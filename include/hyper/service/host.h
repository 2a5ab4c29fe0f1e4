// The drive host: one store, one replicator and one swarm shared by every drive a long-running
// process (the daemon) keeps open, and the drive API its edges (gRPC, FUSE, HTTP) call.
//
//   auto host = service::Host::Open({.store_dir = root + "/storage/cores"}).value();
//   auto d = host->Get(std::nullopt).value();          // a new writable drive
//   d->Run([](drive::Drive& drive) { return drive.WriteFile("/a", ToBytes("hi")).status(); });
//   host->ConfigureNetwork(*d, {.lookup = true, .announce = true});
//
// Drives are opened once and shared: every Get of the same key gives the same HostedDrive, kept
// while anyone holds it. Drive operations run under the drive's lock on the caller's thread (a
// drive object is not thread-safe); reads of blocks that are not here wait for the network
// (the replicator's block fetchers, with its fetch timeout) inside that lock.
//
// Thread safety: every method may be called from any thread but the runtime's own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "hyper/protocol/tcp.h"
#include "hyper/replication/drive_replication.h"
#include "hyper/replication/store_feeds.h"
#include "hyper/swarm/swarm.h"

namespace hyper::service {

// What the host does with a drive on the network (the reference daemon's configureNetwork).
struct NetworkConfig {
  bool lookup = false;    // find peers that have it and connect to them
  bool announce = false;  // tell the DHT (and the LAN) that we have it
  bool remember = false;  // keep it across restarts (the caller persists it; see on_configure)
  bool operator==(const NetworkConfig&) const = default;
};

struct HostOptions {
  // The corestore directory. Empty with memory_only.
  std::string store_dir;
  bool memory_only = false;
  // Who holds the store's lock ("hyperdrive daemon (pid N)"), for the others' Busy errors.
  std::string holder;
  // The swarm (DHT, LAN, TCP listener); nullopt: no network at all (nothing listens or dials).
  std::optional<swarm::SwarmOptions> network;
  // Never announce, whatever a drive's configuration says (--no-announce).
  bool announce = true;
  // How long a read waits for a block or a drive header from peers.
  std::chrono::milliseconds fetch_timeout{20000};
  // Told what the network does; on the runtime's threads. May be empty.
  std::function<void(const std::string&)> log;
};

// Counters of one core, for stats.
struct CoreCounters {
  crypto::PublicKey key{};
  uint32_t peers = 0;  // connections replicating it now
  uint64_t uploaded_bytes = 0;
  uint64_t downloaded_bytes = 0;
  uint64_t total_blocks = 0;       // its length
  uint64_t downloaded_blocks = 0;  // blocks held here
  uint64_t total_bytes = 0;
};

// The counters of a drive or of one of its mounts.
struct MountCounters {
  std::string path;  // "/" for the drive itself
  CoreCounters metadata;
  std::optional<CoreCounters> content;
};

// A connected peer.
struct PeerInfo {
  std::array<uint8_t, 32> noise_key{};
  std::string address;                       // "host:port"
  std::vector<crypto::Hash> discovery_keys;  // the channels it opened
};

class Host;

// A drive held open by the host.
class HostedDrive {
 public:
  HostedDrive(const HostedDrive&) = delete;
  HostedDrive& operator=(const HostedDrive&) = delete;
  ~HostedDrive();

  const crypto::PublicKey& key() const { return key_; }
  crypto::Hash discovery_key() const;
  // Writable here (this store holds its secret key).
  bool writable() const;

  // Runs `f` with the drive under the drive's lock. A drive that the store does not hold yet
  // is opened first: its header is fetched from peers (Unavailable after the host's fetch
  // timeout when no peer sends it).
  template <typename F>
  auto Run(F&& f) -> decltype(f(std::declval<drive::Drive&>())) {
    std::lock_guard<std::mutex> lock(mu_);
    auto opened = EnsureOpen();
    if (!opened.ok()) return opened;
    return f(*drive_);
  }

  // As Run, but only when the drive is open already (NotFound instead of fetching its header):
  // for counters, which must not wait for the network.
  template <typename F>
  auto RunIfOpen(F&& f) -> decltype(f(std::declval<drive::Drive&>())) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!drive_) return Status::NotFound("drive " + ToHex(key_) + " is not here yet");
    return f(*drive_);
  }

  // The drive under its lock for as long as the returned lock is held (opened first, as Run
  // does): for a caller that runs a sequence of operations as one (a command of the CLI that the
  // daemon runs for it). Release the lock before the drive pointer.
  Result<std::pair<std::unique_lock<std::mutex>, drive::Drive*>> Acquire();

  // Writes to one drive run one at a time: a writing operation holds this (before the drive's
  // lock) for its length, a write stream for the whole stream, while reads go on.
  std::unique_lock<std::mutex> LockWrites() { return std::unique_lock<std::mutex>(write_mu_); }

  // Downloads, live, everything the drive and its mounts hold (mirror), or stops that.
  Status SetMirrored(bool mirrored);
  bool mirrored() const;

  // Downloads the blocks of `ranges` (Drive::ContentRanges of a path) in the background, from
  // whichever peers have them, until RemoveDownload; the selection outlives restarts of the
  // drive's replication (mirror / unmirror). Returns the download's handle.
  Result<uint64_t> AddDownload(std::vector<drive::ContentRange> ranges);
  // Stops asking for the download's blocks (what arrived stays). Unknown handles are ignored.
  void RemoveDownload(uint64_t handle);
  // Blocks of the download held here, and in all (its progress).
  std::pair<uint64_t, uint64_t> DownloadProgress(uint64_t handle) const;

 private:
  friend class Host;
  HostedDrive(Host& host, crypto::PublicKey key, std::unique_ptr<drive::Drive> drive);
  Status EnsureOpen();                   // REQUIRES: mu_ held
  Status StartReplication(bool sparse);  // REQUIRES: mu_ held
  // A download's ranges and the replicator's selection handle of each.
  struct Download {
    std::vector<drive::ContentRange> ranges;
    std::vector<uint64_t> selections;
  };
  Status Select(Download& d);  // REQUIRES: mu_ held
  void Unselect(Download& d);  // REQUIRES: mu_ held

  Host& host_;
  const crypto::PublicKey key_;
  std::mutex write_mu_;  // before mu_
  std::mutex mu_;
  std::unique_ptr<drive::Drive> drive_;
  std::unique_ptr<replication::DriveReplication> replication_;
  bool mirrored_ = false;
  std::map<uint64_t, Download> downloads_;
  uint64_t next_download_ = 1;
};

class Host {
 public:
  static Result<std::unique_ptr<Host>> Open(HostOptions options);
  // Leaves the swarm (unannouncing) and closes the store. REQUIRES: no HostedDrive is held.
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // The drive `key` (an empty replica, looked up on the network, when the store does not hold
  // it), or a new writable drive when `key` is nullopt.
  Result<std::shared_ptr<HostedDrive>> Get(const std::optional<crypto::PublicKey>& key);

  // Every drive open now (held by a session or kept for the network).
  std::vector<std::shared_ptr<HostedDrive>> OpenDrives() const;
  // Mirrors the drive (downloads all of it, live, and keeps it open) or stops that.
  Status SetMirrored(const std::shared_ptr<HostedDrive>& d, bool mirrored);

  // Joins or leaves the drive's topic as `config` says, and records it (nullopt config: the
  // drive's configuration is forgotten and it leaves the swarm).
  Status ConfigureNetwork(const crypto::PublicKey& key, const NetworkConfig& config);
  std::optional<NetworkConfig> NetworkConfigOf(const crypto::PublicKey& key) const;
  std::map<crypto::PublicKey, NetworkConfig> NetworkConfigs() const;
  // The drives announced or looked up now.
  std::vector<crypto::PublicKey> Active() const;

  // Counters of the drive `d` and, with recursive, of its mounts.
  Result<std::vector<MountCounters>> Stats(HostedDrive& d, bool recursive);
  // Connections replicating the core with this key (0 when none or not open).
  uint32_t PeerCount(const crypto::PublicKey& core_key) const;
  std::vector<PeerInfo> Peers() const;

  // Our Noise public key (our identity to peers).
  std::array<uint8_t, 32> noise_key() const;
  // The swarm's port (0 without a network).
  uint16_t swarm_port() const;
  corestore::Corestore& store() { return *store_; }
  protocol::Replicator& replicator() { return *replicator_; }
  const HostOptions& options() const { return options_; }

 private:
  friend class HostedDrive;
  explicit Host(HostOptions options);
  void ApplyNetwork(const crypto::PublicKey& key, const NetworkConfig& config);  // REQUIRES: mu_

  const HostOptions options_;
  std::unique_ptr<corestore::Corestore> store_;
  std::unique_ptr<replication::StoreFeeds> served_;
  std::unique_ptr<protocol::Replicator> replicator_;
  std::unique_ptr<swarm::Swarm> swarm_;
  std::mutex open_mu_;     // Get of a drive not open yet, one at a time (before mu_)
  mutable std::mutex mu_;  // the maps below
  std::map<crypto::PublicKey, std::weak_ptr<HostedDrive>> drives_;
  std::map<crypto::PublicKey, NetworkConfig> configs_;
  // Drives on the network stay open (and replicated) while no session holds them.
  std::map<crypto::PublicKey, std::shared_ptr<HostedDrive>> pinned_;
  std::map<crypto::PublicKey, std::shared_ptr<HostedDrive>> mirrored_;  // kept open too
};

}  // namespace hyper::service
