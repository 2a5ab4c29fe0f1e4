// The drive commands of `hyperdrive`: create, import, export, ls, cat, stat, put, rm, mkdir,
// rmdir, ln, mount, unmount, info, log, diff, tag, tags, drives. create, mount, unmount and info
// also take paths under the FUSE mountpoint (mount_paths.h).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core_commands.h"
#include "discovery.h"

namespace hyper::cli {

// The arguments of every drive command, filled in by CLI11.
struct DriveArgs {
  std::string url;
  std::string other;  // a second positional: dir, file, target, key, tag name
  std::optional<uint64_t> start, end, version, from, to;
  bool json = false, long_format = false, recursive = false, parents = false, symbolic = false;
  bool dry_run = false, checksum = false;  // import
  bool watch = false;                      // import: keep importing as the folder changes
  bool follow = false;                     // export: keep exporting as the drive changes
  bool no_dedup = false;                   // import, put
  bool force = false;                      // tag
  bool seed = false, no_seed = false;      // mount <path>, create <path>
  std::string peer;     // export, cat, ls, stat: HOST:PORT to fetch from (net_commands.h)
  double timeout = 10;  // seconds the peer may stay silent
  // export, cat, ls, stat without --peer: how peers are found (a drive not all local).
  DiscoveryArgs discovery;
};

// REQUIRES: storage, args and action outlive app.
void AddDriveCommands(CLI::App& app, const std::string& storage, DriveArgs& args, Action* action);

}  // namespace hyper::cli
