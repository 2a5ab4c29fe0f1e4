// import --watch and export --follow: an import or export that, once done, keeps the folder
// and the drive in step until it is stopped (Ctrl-C, or the client's stop request when the
// daemon runs it), then ends with success. See docs/cli.md.
#pragma once

#include <string>

#include "discovery.h"
#include "hyper/util/status.h"
#include "transfer.h"

namespace hyper::cli {

// ImportFolder, then again after each burst of changes in the folder (seen through inotify and
// imported once the folder has been quiet for a moment), until stopped. A stop during an
// import ends it between two files, every file read until then written whole.
Status WatchImport(const std::string& storage, const std::string& dir, const std::string& url,
                   ImportOptions options);

// Where a foreground export --follow of a replica gets new versions from (export's options).
struct FollowPeers {
  std::string peer;  // HOST:PORT; empty: the peers the swarm finds by the drive's key
  DiscoveryArgs discovery;
  double timeout = 10;  // seconds to reach a first peer
};

// ExportDrive, then, on each change of the drive, what changed since the last version exported
// is written to the folder or removed from it, until stopped. The changes are seen through the
// drive's watch (writes of other commands and clients of the daemon, versions its swarm
// receives) or, in the foreground for a drive not writable here, through a live replication
// from `peers` (a version is written once its metadata and content are all here). The URL
// names no version.
Status FollowExport(const std::string& storage, const std::string& url, const std::string& dir,
                    const FollowPeers& peers);

}  // namespace hyper::cli
