// A C++ client of the Hyperdrive daemon's gRPC API (the one the Node hyperdrive-daemon-client
// speaks). It finds the daemon as that client does: $HYPERDRIVE_ENDPOINT and $HYPERDRIVE_TOKEN,
// else ROOT/config.json.
//
//   auto c = client::DaemonClient::Connect(client::FindDaemon("/home/me/.hyperdrive").value());
//   auto st = c->GetStatus();
//
// Every call has a deadline: a daemon that dies or hangs gives Unavailable or Timeout, never a
// client that waits forever.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hyper/util/status.h"

namespace hyper::client {

struct DaemonAddress {
  std::string endpoint;  // "host:port"
  std::string token;
};

// $HYPERDRIVE_ENDPOINT + $HYPERDRIVE_TOKEN when both are set, else `root`/config.json.
Result<DaemonAddress> FindDaemon(const std::string& root);

struct DaemonStatus {
  uint64_t api_version = 0;
  std::string daemon_version;
  uint64_t uptime_ms = 0;
  std::array<uint8_t, 32> noise_key{};
  bool fuse_available = false;
  bool fuse_configured = false;  // the root drive is mounted
};

// A file or directory's attributes as the daemon reports them (hyperdrive's Stat).
struct RemoteStat {
  uint32_t mode = 0;
  uint64_t size = 0;
  uint64_t mtime = 0;  // milliseconds since the epoch
  std::string linkname;
  bool IsDirectory() const { return (mode & 0170000) == 0040000; }
  bool IsFile() const { return (mode & 0170000) == 0100000; }
};

// Counters of one core (a drive's metadata or content feed), as Drive.stats reports them.
struct CoreCounters {
  std::array<uint8_t, 32> key{};
  uint32_t peers = 0;  // connections replicating it now
  uint64_t uploaded_bytes = 0;
  uint64_t downloaded_bytes = 0;
  uint64_t total_blocks = 0;  // its length
  uint64_t downloaded_blocks = 0;
  uint64_t total_bytes = 0;
};

// The counters of a drive ("/") or of one of its mounts (its path).
struct MountCounters {
  std::string path;
  CoreCounters metadata;
  std::optional<CoreCounters> content;  // none before the drive's header names it
};

// A drive session on the daemon, the shape of the drive API (hyper/drive/drive.h): paths are
// absolute in the drive; errors are the daemon's (NotFound, Exists, NotWritable, ...).
class RemoteDrive {
 public:
  ~RemoteDrive();  // closes the session
  RemoteDrive(const RemoteDrive&) = delete;
  RemoteDrive& operator=(const RemoteDrive&) = delete;

  const std::array<uint8_t, 32>& key() const { return key_; }
  bool writable() const { return writable_; }

  Result<uint64_t> Version();
  // Streams `data` in (messages of at most 1 MiB).
  Status WriteFile(const std::string& path, const std::string& data);
  Result<std::string> ReadFile(const std::string& path);
  // `length` bytes from `start` (fewer at the end of the file).
  Result<std::string> ReadRange(const std::string& path, uint64_t start, uint64_t length);
  Result<RemoteStat> Stat(const std::string& path);
  // Names below `path` (relative to it; recursive lists every entry below).
  Result<std::vector<std::string>> Readdir(const std::string& path, bool recursive = false);
  Status Mkdir(const std::string& path);
  Status Unlink(const std::string& path);
  Status Rmdir(const std::string& path);
  Status Symlink(const std::string& target, const std::string& link_path);
  // Drive.stats: the drive's counters ("/" first) and, with recursive, its mounts'.
  Result<std::vector<MountCounters>> Stats(bool recursive = true);

 private:
  friend class DaemonClient;
  struct Impl;
  RemoteDrive(std::shared_ptr<Impl> impl, uint64_t id, std::array<uint8_t, 32> key, bool writable);
  std::shared_ptr<Impl> impl_;
  uint64_t id_;
  std::array<uint8_t, 32> key_;
  bool writable_;
};

class DaemonClient {
 public:
  // Waits at most `timeout` for the daemon to answer (Unavailable when it does not).
  static Result<std::unique_ptr<DaemonClient>> Connect(
      const DaemonAddress& address, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  // Hyperdrive.status. PermissionDenied for a wrong token.
  Result<DaemonStatus> GetStatus();
  // A session on the drive `key`, or on a new writable drive when it is nullopt; at `version`
  // (a read-only checkout) when given.
  Result<std::unique_ptr<RemoteDrive>> GetDrive(
      const std::optional<std::array<uint8_t, 32>>& key = std::nullopt,
      std::optional<uint64_t> version = std::nullopt);

  // Drive.allStats: the counters of every drive open in the daemon (each list's first entry,
  // "/", is the drive itself: its metadata key is the drive's key).
  Result<std::vector<std::vector<MountCounters>>> AllStats();

  struct Impl;

 private:
  explicit DaemonClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper::client
