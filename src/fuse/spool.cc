#include "spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

namespace hyper::fuse {

Result<std::unique_ptr<Spool>> Spool::Create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A filesystem without O_TMPFILE: a named file, unlinked at once.
    std::string name = dir + "/spool-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) (void)::unlink(name.c_str());
  }
  if (fd < 0) return Status::FromErrno(errno, "creating a spool file in " + dir);
  return std::unique_ptr<Spool>(new Spool(fd));
}

Spool::~Spool() { ::close(fd_); }

Result<size_t> Spool::Read(uint64_t offset, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size() && offset + done < size_) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "reading a spool file");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status Spool::Write(uint64_t offset, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing a spool file");
    done += static_cast<size_t>(n);
  }
  if (offset + data.size() > size_) size_ = offset + data.size();
  return Status::Ok();
}

Status Spool::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return Status::FromErrno(errno, "truncating a spool file");
  }
  size_ = size;
  return Status::Ok();
}

}  // namespace hyper::fuse
