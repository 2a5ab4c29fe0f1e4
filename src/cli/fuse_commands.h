// `hyperdrive fuse-setup`: whether FUSE works here, and where the daemon mounts its root drive
// (docs/fuse.md).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core_commands.h"

namespace hyper::cli {

struct FuseArgs {
  std::string setup_mountpoint;  // fuse-setup --mountpoint (default ~/Hyperdrive)
};

void AddFuseCommands(CLI::App& app, const std::string& storage, FuseArgs& args, Action* action);

}  // namespace hyper::cli
