// The files open through the mount, by path: every handle on one path shares one OpenFile, so
// two handles see each other's writes, and a file created here is listed and stat'ed before
// its first version is written (at close or fsync). A rename moves the entries at and below
// its source; an unlink takes a file out of the table (its handles keep it, and it is never
// written to the drive).
//
// Locks: Filesystem's namespace lock, then OpenFile::mu, then the table's own lock (never held
// while another is taken).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hyper/drive/drive.h"
#include "spool.h"

namespace hyper::fuse {

struct OpenFile {
  std::mutex mu;
  // Guarded by mu:
  std::unique_ptr<Spool> spool;  // the file's bytes, once written or truncated through the mount
  bool dirty = false;            // the spool holds bytes the drive does not have yet
  uint32_t mode = drive::kDefaultFileMode;  // permission bits of the next version
  std::optional<uint64_t> mtime;            // milliseconds, when set by utimens
  drive::Stat base;                         // uid, gid, ctime and metadata of the next version
  // Read without mu (readdir): false for a file created here whose first version is not
  // written yet.
  std::atomic<bool> in_drive{true};
};

class OpenFiles {
 public:
  // The file open at `path`, or null.
  std::shared_ptr<OpenFile> Find(const std::string& path) const;
  // The file open at `path`, made by `make` when none is; one more handle on it.
  template <typename Make>
  std::shared_ptr<OpenFile> Acquire(const std::string& path, Make&& make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_path_.find(path);
    if (it == by_path_.end()) {
      auto file = make();
      it = by_path_.emplace(path, Entry{std::move(file), 0}).first;
      paths_[it->second.file.get()] = path;
    }
    it->second.handles++;
    return it->second.file;
  }
  // One handle fewer; the entry goes with the last one.
  void Release(const std::shared_ptr<OpenFile>& file);
  // Where `file` is now; nullopt once unlinked (or replaced by a rename).
  std::optional<std::string> PathOf(const OpenFile* file) const;
  // Every file open at or below `dir`.
  std::vector<std::shared_ptr<OpenFile>> AtOrBelow(const std::string& dir) const;
  // Files open directly in `dir`, with their names.
  std::vector<std::pair<std::string, std::shared_ptr<OpenFile>>> ChildrenOf(
      const std::string& dir) const;
  // The file at `path` is gone (unlinked, or replaced by a rename): its handles keep it.
  void Forget(const std::string& path);
  // Everything at or below `from` is now at the same place below `to`.
  void Move(const std::string& from, const std::string& to);

 private:
  struct Entry {
    std::shared_ptr<OpenFile> file;
    int handles = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_path_;
  std::map<const OpenFile*, std::string> paths_;  // the mapped files' paths
  // Files forgotten while open, with their handle counts.
  std::map<const OpenFile*, int> forgotten_;
};

}  // namespace hyper::fuse
