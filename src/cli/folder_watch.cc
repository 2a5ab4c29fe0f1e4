#include "folder_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

namespace hyper::cli {

namespace {

namespace fs = std::filesystem;

// What changes a folder's content as an import sees it (IN_ATTRIB: a chmod or touch).
constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                           IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                           IN_DONT_FOLLOW | IN_EXCL_UNLINK;

}  // namespace

Result<std::unique_ptr<FolderWatch>> FolderWatch::Start(const std::string& root) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "watching " + root);
  std::unique_ptr<FolderWatch> watch(new FolderWatch(fd, root));
  RETURN_IF_ERROR(watch->AddTree(root));
  return watch;
}

FolderWatch::~FolderWatch() { ::close(fd_); }

Status FolderWatch::Add(const std::string& path) {
  const int wd = ::inotify_add_watch(fd_, path.c_str(), kMask);
  if (wd < 0) {
    // Gone again, or a file now: the import that follows sees what is there.
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    if (errno == ENOSPC) {
      return Status::NoSpace("cannot watch " + path +
                             ": the system's inotify watches are used up "
                             "(raise fs.inotify.max_user_watches)");
    }
    return Status::FromErrno(errno, "watching " + path);
  }
  folders_[wd] = path;
  return Status::Ok();
}

Status FolderWatch::AddTree(const std::string& path) {
  RETURN_IF_ERROR(Add(path));
  std::error_code ec;
  fs::recursive_directory_iterator it(path, fs::directory_options::none, ec), end;
  if (ec) return Status::Ok();  // gone meanwhile
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    if (it->is_directory(ec) && !it->is_symlink(ec)) RETURN_IF_ERROR(Add(it->path().string()));
  }
  return Status::Ok();
}

Result<bool> FolderWatch::Drain() {
  bool changed = false;
  alignas(inotify_event) char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return changed;
    if (n <= 0) return Status::FromErrno(n < 0 ? errno : EIO, "reading the events of " + root_);
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) {
        changed = true;
        continue;
      }
      auto folder = folders_.find(e->wd);
      if (e->mask & IN_IGNORED) {
        if (folder != folders_.end()) folders_.erase(folder);
        continue;
      }
      if (folder == folders_.end()) continue;
      if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) && folder->second == root_) {
        return Status::NotFound(root_ + " was removed or moved away");
      }
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) continue;  // its parent says so
      changed = true;
      if ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO)) && e->len > 0) {
        RETURN_IF_ERROR(AddTree(folder->second + "/" + e->name));
      }
    }
  }
}

}  // namespace hyper::cli
