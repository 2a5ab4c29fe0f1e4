// Where the command line keeps its store, and how it names cores and drives.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hyper/corestore/corestore.h"

namespace hyper::cli {

// The storage root, as the reference daemon means it (hyper/corestore/storage_root.h: the cores
// in <root>/storage/cores): --storage DIR, else $HYPERDRIVE_STORAGE (a variable set to the
// empty string counts as unset), else $HOME/.hyperdrive; empty when HOME is unset or empty too
// (OpenStore refuses that). An empty `flag` means the option was not given: main refuses
// `--storage ""` (CheckStorageFlag).
std::string ResolveStorageRoot(const std::string& flag);

// The check of the --storage option's value: an error message, or empty when it is acceptable.
std::string CheckStorageFlag(const std::string& value);

// How a command uses the store. kRead: never writes, and runs beside other readers and beside
// a seed; kWrite (the default): alone; kWriteBesideReaders: a seed, which lets readers in.
using corestore::Access;

// Opens (a writer creates it on first use) and locks the store of the storage root `root`.
// Busy names the process that holds the store when it conflicts (its pid and command line).
// A store laid out before directly in `root` or `root`/storage is first moved into place
// (corestore::MoveLegacyStore), which is said on stderr.
Result<std::unique_ptr<corestore::Corestore>> OpenStore(const std::string& root,
                                                        Access access = Access::kWrite);

// A parsed `hyper://<64 hex>[+<version>][/path]`, `<64 hex>[+<version>][/path]`.
struct HyperUrl {
  crypto::PublicKey key{};
  std::optional<std::string> version;  // a number or a tag name, as written after '+'
  std::string path = "/";              // normalised: starts with '/', no '.', '..' or '//'
};

// InvalidArgument with a message saying what is wrong. `..` may not climb above the root.
Result<HyperUrl> ParseHyperUrl(std::string_view text);

// "/a/./b//c/../d" -> "/a/b/d"; InvalidArgument if `..` would climb above the root or the path
// holds a NUL byte.
Result<std::string> NormalizePath(std::string_view path);

std::string FormatUrl(const crypto::PublicKey& key, std::string_view path = "");

}  // namespace hyper::cli
