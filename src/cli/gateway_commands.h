// `hyperdrive serve`: the HTTP gateway (docs/gateway.md) over the store, fetching from peers
// what the store does not hold.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core_commands.h"
#include "discovery.h"

namespace hyper::cli {

struct GatewayArgs {
  std::string url;  // optional: the one drive served ("/" redirects to it)
  std::string listen = "127.0.0.1:8080";
  std::string peer;
  DiscoveryArgs discovery;
  double timeout = 10;
  uint64_t max_connections = 1024;
};

// Adds `serve`. REQUIRES: storage, args and action outlive app.
void AddGatewayCommands(CLI::App& app, const std::string& storage, GatewayArgs& args,
                        Action* action);

}  // namespace hyper::cli
