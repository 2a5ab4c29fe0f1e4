// `hyperdrive gc` and `hyperdrive clear`: taking disk space back (docs/gc.md).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "core_commands.h"

namespace hyper::cli {

// The arguments of gc and clear, filled in by CLI11.
struct GcArgs {
  std::string url;
  bool all = false;  // gc --all: every drive of the store written here
  std::optional<uint64_t> keep_versions;
  std::string keep_since;  // a date (ParseDate), empty when not given
  bool dry_run = false;
  bool json = false;
};

// A date as --keep-since takes it, in milliseconds since the epoch: YYYY-MM-DD,
// YYYY-MM-DDTHH:MM[:SS] (a space for the T too, an optional trailing Z; always UTC), or
// @SECONDS since the epoch. InvalidArgument otherwise.
Result<uint64_t> ParseDate(std::string_view text);

// Adds `gc` and `clear` to `app`; the chosen one stores its action in *action.
// REQUIRES: storage, args and action outlive app.
void AddGcCommands(CLI::App& app, const std::string& storage, GcArgs& args, Action* action);

}  // namespace hyper::cli
