// How the command layer reaches drives: a store this process opens and locks, or, when the
// daemon runs the command for a client (forward.h), the daemon's open store and the very drive
// objects its gRPC sessions use, each held under the drive's lock for the command.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "hyper/drive/drive.h"
#include "hyper/service/host.h"
#include "store.h"

namespace hyper::cli {

// A drive opened from a URL: the drive (a read-only checkout when the URL names a version or a
// tag) and the path inside it. In the daemon it holds the drive's lock (and, when opened to
// write, its write turn) until it goes.
struct OpenedDrive {
  std::shared_ptr<service::HostedDrive> hosted;  // the daemon's drive, or null
  std::unique_lock<std::mutex> writes;           // the daemon drive's write turn (writers)
  std::unique_lock<std::mutex> lock;             // the daemon drive's lock
  std::unique_ptr<drive::Drive> owned;           // the drive this process opened, or null
  drive::Drive* head = nullptr;                  // the drive at its latest version
  std::unique_ptr<drive::Drive> checkout;        // set when the URL has +version or +tag
  std::string path;
  drive::Drive& drive() { return checkout ? *checkout : *head; }
};

// Where the daemon mounted its root drive (FUSE), and that drive's key.
struct DaemonMount {
  std::string mountpoint;
  crypto::PublicKey root_drive{};
};

// While it lives, the Sessions the calling thread opens use the daemon's `host` instead of
// opening the store (the daemon's side of a forwarded command).
// `remember` records (or, with nullopt, forgets) a drive's network configuration in the
// daemon's state, for its next start (`seed`, `unseed`).
class ScopedDaemonHost {
 public:
  using Remember =
      std::function<Status(const crypto::PublicKey&, const std::optional<service::NetworkConfig>&)>;
  // `mount`: where the daemon mounted its root drive, when it did.
  ScopedDaemonHost(service::Host& host, Remember remember,
                   std::optional<DaemonMount> mount = std::nullopt);
  ~ScopedDaemonHost();
  ScopedDaemonHost(const ScopedDaemonHost&) = delete;
  ScopedDaemonHost& operator=(const ScopedDaemonHost&) = delete;
  // The host of the calling thread, or null.
  static service::Host* Current();
  // Records a configuration (see above); Ok when the calling thread is not in the daemon.
  static Status RememberNetwork(const crypto::PublicKey& key,
                                const std::optional<service::NetworkConfig>& config);
  // Where the daemon of the calling thread mounted its root drive; null when it did not, or
  // when the calling thread is not in the daemon.
  static const DaemonMount* Mount();

 private:
  service::Host* previous_host_;
  Remember remember_;
  const Remember* previous_remember_;
  std::optional<DaemonMount> mount_;
  const std::optional<DaemonMount>* previous_mount_;
};

class Session {
 public:
  // Opens and locks the store of the storage root `root` (a writer creates it on first use);
  // see OpenStore.
  static Result<std::unique_ptr<Session>> Open(const std::string& root,
                                               Access access = Access::kWrite);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // A new writable drive in its own corestore namespace, opened to write (path "/").
  Result<OpenedDrive> CreateDrive();
  // The drive of a `hyper://` URL; NotFound when the store does not hold it.
  Result<OpenedDrive> OpenUrl(const std::string& url);
  // As OpenUrl, and NotWritable unless the drive is writable here and the URL names no version.
  Result<OpenedDrive> OpenWritable(const std::string& url);
  // The metadata keys of every drive in the store (cores whose first block is a hyperdrive
  // header), sorted.
  Result<std::vector<crypto::PublicKey>> ListDrives();

  corestore::Corestore& store() { return host_ ? host_->store() : *store_; }
  Status Close();

 private:
  explicit Session(std::unique_ptr<corestore::Corestore> store) : store_(std::move(store)) {}
  explicit Session(service::Host* host) : host_(host) {}
  Result<OpenedDrive> Open(const std::string& url, bool writer);
  // The daemon's drive `key`, locked (and its write turn taken for a writer).
  Result<OpenedDrive> Hosted(const std::optional<crypto::PublicKey>& key, bool writer);
  std::unique_ptr<corestore::Corestore> store_;
  service::Host* host_ = nullptr;
};

}  // namespace hyper::cli
