// DHT commands: `dht-node` runs a persistent DHT node (a bootstrap node for a network of
// one's own) until SIGINT or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core_commands.h"

namespace hyper::cli {

struct DhtArgs {
  std::string listen = "0.0.0.0:49737";
  std::string bootstrap;  // HOST:PORT[,HOST:PORT...]; empty: none (the first node)
};

void AddDhtCommands(CLI::App& app, DhtArgs& args, Action* action);

}  // namespace hyper::cli
