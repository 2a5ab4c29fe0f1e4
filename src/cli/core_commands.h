// `hyperdrive core ...`: the hypercores of the store, one log at a time.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

#include "hyper/util/status.h"

namespace hyper::cli {

// What a command runs once its arguments are parsed; its Status becomes the exit code.
using Action = std::function<Status()>;

// The arguments of the core commands, filled in by CLI11.
struct CoreArgs {
  std::string key;
  std::string file;
  uint64_t start = 0;
  std::optional<uint64_t> end;
  bool json = false;
  bool repair = false;    // core verify --repair
  bool force = false;     // core append --force (onto a drive's own core)
  bool truncate = false;  // repair --truncate
  bool yes = false;       // repair --yes (confirms --truncate without asking)
  std::string peer;       // repair --peer, core verify --repair --peer: HOST:PORT
  double timeout = 10;    // with --peer: seconds without data from it before giving up
};

// Adds `core` and its subcommands, and `repair`, to `app`; the chosen one stores its action in
// *action.
// `storage` is the --storage flag's value, read when the action runs.
// REQUIRES: storage, args and action outlive app.
void AddCoreCommands(CLI::App& app, const std::string& storage, CoreArgs& args, Action* action);

}  // namespace hyper::cli
