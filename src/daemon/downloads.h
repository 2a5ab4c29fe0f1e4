// The daemon's downloads (Drive.download / Drive.undownload): a path of a drive fetched in the
// background, named by an id that any session may cancel, as the reference daemon's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "hyper/service/host.h"
#include "sessions.h"

namespace hyper::daemon {

class DownloadTable {
 public:
  // At most this many downloads unfinished at once (a client that never cancels cannot grow
  // the daemon without bound); finished ones are dropped when the next one starts.
  static constexpr size_t kMaxDownloads = 4096;

  // Starts downloading `path` (a file, or a folder and everything below it) of the session's
  // version of the drive; returns its id (from 1). The drive stays open until the download is
  // done or cancelled.
  Result<uint64_t> Start(DriveSession& session, const std::string& path);
  // Cancels a download; an unknown or finished id is no error (as the reference).
  void Cancel(uint64_t id);
  // Cancels every download (the daemon's shutdown, before the host goes).
  void Clear();
  // How many are unfinished (tests).
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<service::HostedDrive> hosted;
    uint64_t handle = 0;
  };
  // Drops the finished ones. REQUIRES: mu_ held.
  void Prune();

  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::map<uint64_t, Entry> downloads_;
};

}  // namespace hyper::daemon
