#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "hyper/storage/file.h"

namespace hyper::storage {
namespace {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { (void)Close(); }

  Status Read(uint64_t offset, MutableByteView out) override {
    if (fd_ < 0) return Closed();
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "reading " + path_);
      }
      if (n == 0) {
        return Status::OutOfRange("read of " + std::to_string(out.size()) + " bytes at " +
                                  std::to_string(offset) + " is past the end of " + path_);
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Write(uint64_t offset, ByteView data) override {
    if (fd_ < 0) return Closed();
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "writing " + path_);
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  // pwritev in runs of at most IOV_MAX parts, resuming after short writes.
  Status WriteV(uint64_t offset, std::span<const ByteView> parts) override {
    if (fd_ < 0) return Closed();
    std::vector<iovec> iov;
    iov.reserve(std::min<size_t>(parts.size(), IOV_MAX));
    size_t part = 0;  // first part not completely written
    size_t skip = 0;  // bytes of it already written
    while (true) {
      while (part < parts.size() && parts[part].size() == skip) {
        ++part;
        skip = 0;
      }
      if (part == parts.size()) return Status::Ok();
      iov.clear();
      for (size_t p = part; p < parts.size() && iov.size() < IOV_MAX; ++p) {
        size_t from = p == part ? skip : 0;
        if (parts[p].size() == from) continue;
        iov.push_back({const_cast<uint8_t*>(parts[p].data() + from), parts[p].size() - from});
      }
      ssize_t n =
          pwritev(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "writing " + path_);
      }
      if (n == 0) return Status::IOError("writing " + path_ + ": no progress");
      offset += static_cast<uint64_t>(n);
      // Advance over what was written.
      auto left = static_cast<size_t>(n);
      while (left > 0) {
        size_t avail = parts[part].size() - skip;
        if (left < avail) {
          skip += left;
          left = 0;
        } else {
          left -= avail;
          ++part;
          skip = 0;
        }
      }
    }
  }

  Status Del(uint64_t offset, uint64_t length) override {
    if (fd_ < 0) return Closed();
    ASSIGN_OR_RETURN(uint64_t size, Size());
    if (offset >= size) return Status::Ok();
    if (offset + length >= size) return Truncate(offset);
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
      return Status::Ok();
    }
    // No hole punching here (tmpfs on old kernels, some network filesystems): write zeros.
    std::vector<uint8_t> zeros(std::min<uint64_t>(length, 1 << 20));
    for (uint64_t done = 0; done < length;) {
      uint64_t n = std::min<uint64_t>(zeros.size(), length - done);
      RETURN_IF_ERROR(Write(offset + done, ByteView(zeros.data(), n)));
      done += n;
    }
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    if (fd_ < 0) return Closed();
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(errno, "truncating " + path_);
    }
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    if (fd_ < 0) return Closed();
    struct stat st;
    if (fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat of " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Sync() override {
    if (fd_ < 0) return Closed();
    if (fdatasync(fd_) != 0) return Status::FromErrno(errno, "syncing " + path_);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Status::FromErrno(errno, "closing " + path_);
    return Status::Ok();
  }

  Status Unlink() override {
    RETURN_IF_ERROR(Close());
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "removing " + path_);
    }
    return Status::Ok();
  }

 private:
  Status Closed() const { return Status::IOError(path_ + " is closed"); }
  int fd_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<File>> OpenPosixFile(const std::string& path, OpenOptions options) {
  if (options.create && !options.read_only) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status::FromErrno(ec.value(), "creating directory " + parent.string());
  }
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create && !options.read_only) flags |= O_CREAT;
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  if (options.lock && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Status::Busy(path + " is locked by another process");
    return Status::FromErrno(err, "locking " + path);
  }
  return std::unique_ptr<File>(new PosixFile(fd, path));
}

FileFactory PosixDirectory(std::string root, OpenOptions options) {
  return [root = std::move(root), options](const std::string& name) {
    return OpenPosixFile(root + "/" + name, options);
  };
}

Status File::WriteV(uint64_t offset, std::span<const ByteView> parts) {
  if (parts.size() == 1) return Write(offset, parts[0]);
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  Bytes all;
  all.reserve(total);
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return Write(offset, all);
}

Result<Bytes> ReadBytes(File& file, uint64_t offset, uint64_t length) {
  ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (offset > size || length > size - offset) {
    return Status::OutOfRange("read of " + std::to_string(length) + " bytes at " +
                              std::to_string(offset) + " is past the end (" +
                              std::to_string(size) + " bytes)");
  }
  Bytes out(length);
  RETURN_IF_ERROR(file.Read(offset, out));
  return out;
}

}  // namespace hyper::storage
