// import (a folder into a drive) and export (a drive into a folder): the `hyperdrive import`
// and `hyperdrive export` commands (transfer.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "hyper/drive/drive.h"
#include "hyper/util/status.h"

namespace hyper::cli {

struct ImportOptions {
  // List what would be added, changed and removed (on stdout) without writing anything.
  bool dry_run = false;
  // Compare the content of every file of the same size, even when its size and mtime match
  // the drive's (as rsync --checksum): an edit that kept the size and the mtime is not missed.
  bool checksum = false;
  // Append every file's blocks, even those the drive already holds (no deduplication).
  bool no_dedup = false;
  // Print the drive's URL on stdout at the end (import --watch does so after its first pass).
  bool print_url = true;
  // Asked between files: true stops the import there (what was read is written first), and
  // ImportFolder returns Cancelled. Null: never.
  std::function<bool()> stop;
};

// What an import did, for a caller that goes on (import --watch).
struct ImportOutcome {
  std::string url;       // the drive's (a new one's, when the import created it)
  bool refused = false;  // entries were skipped (named on stderr) and the error says so
};

// Copies the folder `dir` into a new drive (url empty: its URL goes to stderr at the start, so
// that an interrupted import can be resumed, and to stdout at the end) or into the writable
// drive at `url`. Only what changed is written: a file whose size and mtime match is left
// alone; one whose mtime or mode differ but whose content is the same gets new attributes and
// no new content. What the folder no longer holds leaves the drive. A summary (added, changed,
// removed, unchanged, bytes appended) ends on stderr. Names a drive cannot hold (a backslash is
// a separator in drives) are reported and skipped, and the import then ends with an error.
Status ImportFolder(const std::string& storage, const std::string& dir, const std::string& url,
                    const ImportOptions& options = {}, ImportOutcome* outcome = nullptr);

// Copies the drive (or a folder or file of it, at any version) at `url` into `dir` (default
// ./<key>). Symlinks are written as symlinks, never followed. An entry that cannot be written
// (a name the local filesystem refuses, content not downloaded here, ...) is reported and
// skipped, the rest exported, and the export then ends with an error. Files are written under
// a temporary name and renamed when complete, so a failure leaves no partial file.
// `exported_version`, when given, is set to the version that was exported.
Status ExportDrive(const std::string& storage, const std::string& url, const std::string& dir,
                   uint64_t* exported_version = nullptr);

// What ExportChanges did.
struct ExportChangeCounts {
  uint64_t written = 0;  // files, folders and symlinks written
  uint64_t removed = 0;
  uint64_t skipped = 0;  // could not be written or removed (named on stderr)
};

// Brings the folder `dir` (an export of `d` below `prefix`, a folder of the drive) up to date
// with what changed in the drive since version `since`: what was added or changed is written
// (files atomically, as ExportDrive does), what was removed is removed. Mounts that were added
// are named and left out. An entry that cannot be written is named on stderr and counted.
Result<ExportChangeCounts> ExportChanges(const drive::Drive& d, const std::string& prefix,
                                         uint64_t since, const std::string& dir);

}  // namespace hyper::cli
