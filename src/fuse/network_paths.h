// What a path under the magic Network directory names (the reference daemon's layout):
//
//   /Network                              the directory: Stats, Active, the drives opened so far
//   /Network/<key>[/path]                 the drive with that key (64 hex digits), read-only
//   /Network/<key>+<version>[/path]       its checkout at that version, read-only
//   /Network/Stats                        a directory per drive the daemon has open
//   /Network/Stats/<key>                  networking.json and storage.json
//   /Network/Stats/<key>/networking.json  its cores' counters and peers (the reference's fields)
//   /Network/Stats/<key>/storage.json     blocks, size and blocks held of each file
//   /Network/Active                       <key>.json for each drive announced now: a symlink to
//                                         ../Stats/<key>/networking.json
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hyper/crypto/crypto.h"
#include "hyper/util/status.h"

namespace hyper::fuse {

inline constexpr char kStatsName[] = "Stats";
inline constexpr char kActiveName[] = "Active";
inline constexpr char kNetworkingJson[] = "networking.json";
inline constexpr char kStorageJson[] = "storage.json";

struct NetworkPath {
  enum class Kind { kRoot, kDrive, kStatsDir, kStatsDrive, kStatsFile, kActiveDir, kActiveLink };
  Kind kind = Kind::kRoot;
  crypto::PublicKey key{};
  std::optional<uint64_t> version;  // kDrive: a checkout
  std::string inner = "/";          // kDrive: the path in the drive; kStatsFile: the file name
};

// `path` is "/Network" or below it (paths.h's form). NotFound for a name that is not there (not
// a key, a version that is not a number, a file Stats does not have).
Result<NetworkPath> ParseNetworkPath(std::string_view path);

// "<hex key>" or "<hex key>+<version>": a drive's name in /Network.
std::string NetworkName(const crypto::PublicKey& key, std::optional<uint64_t> version);

}  // namespace hyper::fuse
