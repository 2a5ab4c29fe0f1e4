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
#include <string>

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

  struct Impl;

 private:
  explicit DaemonClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper::client
