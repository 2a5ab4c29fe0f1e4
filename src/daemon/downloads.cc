#include "downloads.h"

#include <utility>
#include <vector>

namespace hyper::daemon {

Result<uint64_t> DownloadTable::Start(DriveSession& session, const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<drive::ContentRange> ranges,
                   session.Run([&](drive::Drive& d) { return d.ContentRanges(path); }));
  std::lock_guard<std::mutex> lock(mu_);
  Prune();
  if (downloads_.size() >= kMaxDownloads) {
    return Status::Busy(std::to_string(kMaxDownloads) +
                        " downloads are unfinished: cancel some first (undownload)");
  }
  ASSIGN_OR_RETURN(uint64_t handle, session.hosted->AddDownload(std::move(ranges)));
  const uint64_t id = next_++;
  downloads_[id] = Entry{session.hosted, handle};
  return id;
}

void DownloadTable::Cancel(uint64_t id) {
  Entry gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = downloads_.find(id);
    if (it == downloads_.end()) return;
    gone = std::move(it->second);
    downloads_.erase(it);
  }
  // Outside mu_: the drive's end (when this held it last) takes the host's locks.
  gone.hosted->RemoveDownload(gone.handle);
}

void DownloadTable::Clear() {
  std::map<uint64_t, Entry> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(downloads_);
  }
  for (auto& [id, e] : all) e.hosted->RemoveDownload(e.handle);
}

size_t DownloadTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return downloads_.size();
}

void DownloadTable::Prune() {
  for (auto it = downloads_.begin(); it != downloads_.end();) {
    const auto [held, total] = it->second.hosted->DownloadProgress(it->second.handle);
    if (held < total) {
      ++it;
      continue;
    }
    it->second.hosted->RemoveDownload(it->second.handle);
    it = downloads_.erase(it);
  }
}

}  // namespace hyper::daemon
