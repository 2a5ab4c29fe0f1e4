// The DHT bootstrap list a command uses: `--bootstrap HOST:PORT[,HOST:PORT...]` when given, else
// the HYPERDRIVE_BOOTSTRAP environment variable when set, else the reference's public list
// (@hyperswarm/dht 4's three bootstrap*.hyperdht.org:49737). An empty list means no DHT: peers
// are found on the LAN only. Host names are resolved (IPv4) when the list is parsed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/runtime/udp_socket.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

inline constexpr const char* kDefaultBootstrap =
    "bootstrap1.hyperdht.org:49737,bootstrap2.hyperdht.org:49737,bootstrap3.hyperdht.org:49737";
inline constexpr const char* kBootstrapEnvironment = "HYPERDRIVE_BOOTSTRAP";

struct BootstrapList {
  std::vector<runtime::UdpEndpoint> nodes;
  // Entries of the default list that did not resolve (no network): said, and skipped.
  std::vector<std::string> unresolved;
  bool is_default = false;
  // Every node is on this machine (127.0.0.0/8): a network of one's own, where announcing on
  // the LAN would reach beyond it.
  bool loopback_only() const;
};

// Parses "HOST:PORT,HOST:PORT..." (empty entries ignored). A host name that does not resolve is
// an error unless `skip_unresolved` (then it is listed in `unresolved`).
Result<BootstrapList> ParseBootstrapList(std::string_view list, bool skip_unresolved = false);

// The list of a command: `flag` when given, else the environment, else the default.
Result<BootstrapList> ChooseBootstrap(const std::optional<std::string>& flag);

}  // namespace hyper::swarm
