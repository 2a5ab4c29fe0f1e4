// Paths under the FUSE mountpoint as the drive commands take them (`create <path>`,
// `mount <path> [key]`, `unmount <path>`, `info <path>`, as the reference daemon's CLI): each is
// resolved against where the daemon mounted its root drive into a hyper:// URL.
//
//   <mountpoint>                                the root drive, "/"
//   <mountpoint>/a/b                            hyper://<root drive>/a/b
//   <mountpoint>/Network/<key>[+version]/a      hyper://<key>[+version]/a
#pragma once

#include <optional>
#include <string>

#include "hyper/crypto/crypto.h"
#include "hyper/util/status.h"
#include "session.h"

namespace hyper::cli {

// Whether a command's argument is a path on this machine rather than a drive (a hyper:// URL
// or a bare key).
bool IsLocalPath(const std::string& arg);

// Where the root drive is mounted: the daemon's own mount when the command runs in it, else
// the mountpoint and key the root's state database recorded (`fuse-setup`, `start
// --mountpoint`). NotFound, saying how to set one up, when there is none.
Result<DaemonMount> FindDaemonMount(const std::string& storage_root);

struct MountPath {
  std::string local;  // the absolute path on this machine
  std::string url;    // hyper://<key>[+version]/<path>
  // Below Network (a drive by key): not part of the root drive.
  bool network = false;
  // The path in the root drive ("/" for the mountpoint itself); empty under Network.
  std::string in_root;
};

// `arg` (relative to the caller's working directory) under `mount`: InvalidArgument when it
// lies outside the mountpoint, NotFound for a Network name that is not a drive.
Result<MountPath> ResolveMountPath(const DaemonMount& mount, const std::string& arg);

}  // namespace hyper::cli
