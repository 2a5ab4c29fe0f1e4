// `hyperdrive start`, `stop`, `status` and `force-unmount`: the daemon's life (src/daemon).
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core_commands.h"
#include "discovery.h"

namespace hyper::cli {

struct DaemonArgs {
  std::vector<std::string> argv;  // the command line, for the daemon `start` spawns
  bool foreground = false;
  bool foreground_child = false;  // spawned by `start`: tells it when ready, logs to the file
  bool foreground_echo = true;
  uint16_t port = 3101;
  std::optional<uint16_t> swarm_port;
  bool memory_only = false;
  bool no_announce = false;
  std::string log_level = "info";
  std::string mountpoint;          // start --mountpoint
  std::string gateway;             // start --gateway [HOST:]PORT
  double read_timeout = 15;        // start --read-timeout SECONDS
  std::string unmount_mountpoint;  // force-unmount [DIR]
  DiscoveryArgs discovery;
  std::string stats_url;  // `stats [URL]`
};

// The pid of the daemon running on the storage root `root` (its pid file names a live
// process), or nullopt.
std::optional<pid_t> DaemonPid(const std::string& root);

void AddDaemonCommands(CLI::App& app, const std::string& storage, DaemonArgs& args, Action* action);

}  // namespace hyper::cli
