#include "store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hyper::corestore {
namespace {

constexpr char kWriterLockFile[] = "LOCK";
constexpr size_t kMaxHolderText = 512;

// "another process (pid 1234, `hyperdrive seed …`)" from the writer lock file; without the
// detail when it says nothing usable (an older version of us, or a writer that has not
// written it yet).
std::string DescribeWriter(const std::string& dir) {
  std::string plain = "another process";
  int fd = open((dir + "/" + kWriterLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return plain;
  char buf[kMaxHolderText];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  close(fd);
  if (n <= 0) return plain;
  std::string text(buf, static_cast<size_t>(n));
  text = text.substr(0, text.find('\n'));
  size_t space = text.find(' ');
  std::string pid = text.substr(0, space);
  if (pid.empty()) return plain;
  for (char c : pid) {
    if (c < '0' || c > '9') return plain;
  }
  std::string what = space == std::string::npos ? "" : text.substr(space + 1);
  return plain + " (pid " + pid + (what.empty() ? "" : ", `" + what + "`") + ")";
}

Status LockError(const std::string& what, int err) {
  return Status::FromErrno(err, "locking " + what);
}

}  // namespace

Result<std::unique_ptr<StoreLock>> StoreLock::Acquire(const std::string& dir, Access access,
                                                      const std::string& holder) {
  std::unique_ptr<StoreLock> lock(new StoreLock());
  const bool writes = access != Access::kRead;
  if (writes) {
    // One writer at a time, whichever kind.
    lock->writer_fd_ =
        open((dir + "/" + kWriterLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock->writer_fd_ < 0) return LockError(dir + "/" + kWriterLockFile, errno);
    if (flock(lock->writer_fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      if (err != EWOULDBLOCK) return LockError(dir + "/" + kWriterLockFile, err);
      return Status::Busy("the store " + dir + " is in use by " + DescribeWriter(dir) +
                          ", which writes to it; try again once it has stopped");
    }
  }
  lock->dir_fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock->dir_fd_ < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("there is no store in " + dir);
    return Status::FromErrno(err, "opening the store directory " + dir);
  }
  const bool exclusive = access == Access::kWrite;
  if (flock(lock->dir_fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) return LockError(dir, err);
    if (exclusive) {
      return Status::Busy("the store " + dir +
                          " is being read by another process; try again once it is done");
    }
    return Status::Busy("the store " + dir + " is in use by " + DescribeWriter(dir) +
                        ", which writes to it; try again once it has stopped");
  }
  if (writes) {
    std::string text = std::to_string(getpid()) + " " + holder + "\n";
    if (ftruncate(lock->writer_fd_, 0) != 0 || pwrite(lock->writer_fd_, text.data(), text.size(),
                                                      0) != static_cast<ssize_t>(text.size())) {
      return LockError(dir + "/" + kWriterLockFile, errno);
    }
  }
  return lock;
}

StoreLock::~StoreLock() {
  // Closing the descriptors releases the locks. The writer's name stays in LOCK: it is read
  // only while someone holds the lock.
  if (dir_fd_ >= 0) close(dir_fd_);
  if (writer_fd_ >= 0) close(writer_fd_);
}

}  // namespace hyper::corestore
