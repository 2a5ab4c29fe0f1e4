// The storage root: the one folder a `hyperdrive` command or daemon keeps everything in, laid out
// as the reference daemon (hyperdrive-daemon 1.14) lays out ~/.hyperdrive
// (docs/formats/daemon-state.md):
//
//   <root>/config.json        the daemon's endpoint and token (written by the daemon)
//   <root>/storage/cores/     the corestore (corestore.h's layout: master_key, ab/cd/<dk>/...)
//   <root>/storage/db/        the daemon's state, a LevelDB (src/daemon/state/)
//
// Before, the command line kept its corestore directly in the folder --storage named (by default
// ~/.hyperdrive/storage). MoveLegacyStore moves such a store into <root>/storage/cores.
#pragma once

#include <string>
#include <vector>

#include "hyper/util/status.h"

namespace hyper::corestore {

// <root>/storage/cores: the corestore of a root.
std::string CoresDirectory(const std::string& root);
// <root>/storage/db: the daemon's state database of a root.
std::string StateDbDirectory(const std::string& root);
// <root>/config.json: where the daemon tells its clients how to reach it.
std::string ConfigFile(const std::string& root);

// What MoveLegacyStore moved: the folder it came from and the entries (a core's folder
// "ab/cd/<dk>", or "master_key"), in the order they were moved.
struct LegacyMove {
  std::string from;
  std::vector<std::string> entries;
};

// Moves a store laid out before directly in <root> or <root>/storage (a `master_key` file there)
// into CoresDirectory(root): every core folder, then the master key last, each with one
// rename(2). Interrupted, it leaves every core in exactly one of the two places, and a rerun
// finishes the move (the master key still marks the old place until the end). Returns what it
// moved (no entries when there was nothing to move). Errors, with nothing lost: the two places
// each hold a store with a different master key, or a core is in both; the old folder is locked
// by a process using it (Busy); a rename fails; `root` is itself the cores folder of a root
// (".../storage/cores": InvalidArgument naming that root, and nothing moves).
Result<LegacyMove> MoveLegacyStore(const std::string& root);

}  // namespace hyper::corestore
