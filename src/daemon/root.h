// The daemon's root directory (the reference daemon's layout, ~/.hyperdrive by default):
//
//   ROOT/config.json       {"token", "endpoint"}: how clients find and authenticate to it (0600),
//                          and "gateway" when the daemon runs an HTTP gateway
//   ROOT/storage/cores/    the corestore
//   ROOT/storage/db/       the daemon's state (LevelDB)
//   ROOT/daemon.pid        the running daemon's pid (removed when it stops)
//   ROOT/daemon.log        its log (rotated to daemon.log.1 at 8 MiB)
#pragma once

#include <string>

#include "hyper/corestore/storage_root.h"
#include "hyper/util/status.h"

namespace hyper::daemon {

struct Root {
  std::string dir;
  std::string config_path() const { return corestore::ConfigFile(dir); }
  std::string store_dir() const { return corestore::CoresDirectory(dir); }
  std::string db_dir() const { return corestore::StateDbDirectory(dir); }
  std::string pid_path() const { return dir + "/daemon.pid"; }
  std::string log_path() const { return dir + "/daemon.log"; }
};

// How a client reaches the daemon.
struct ClientConfig {
  std::string endpoint;  // "host:port"
  std::string token;
  std::string gateway;  // "http://HOST:PORT/" of the daemon's HTTP gateway; empty: none
};

// $HYPERDRIVE_ENDPOINT and $HYPERDRIVE_TOKEN when both are set, else ROOT/config.json.
// NotFound when there is neither (no daemon was ever started on this root).
Result<ClientConfig> ReadClientConfig(const Root& root);
// Writes ROOT/config.json with mode 0600 (through a temporary file renamed over it).
Status WriteClientConfig(const Root& root, const ClientConfig& config);
// $HYPERDRIVE_TOKEN when set, else 32 random bytes in hex.
std::string NewToken();

}  // namespace hyper::daemon
