// A file's bytes while it is open for writing through the mount: an unnamed temporary file
// (O_TMPFILE) in the daemon's root, written at any position, truncated, read back, and
// streamed into the drive when the file is closed or fsynced (the drive's content feed is
// append-only, a POSIX file is not). Nothing of it is held in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::fuse {

class Spool {
 public:
  // An empty spool file in `dir` (created when missing, mode 0700); gone when closed.
  static Result<std::unique_ptr<Spool>> Create(const std::string& dir);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Up to out.size() bytes from `offset` (fewer at the end); the number read.
  Result<size_t> Read(uint64_t offset, std::span<uint8_t> out) const;
  // Writes all of `data` at `offset` (the file grows, with zeros in any gap).
  Status Write(uint64_t offset, ByteView data);
  Status Truncate(uint64_t size);
  uint64_t size() const { return size_; }

 private:
  explicit Spool(int fd) : fd_(fd) {}
  int fd_;
  uint64_t size_ = 0;
};

}  // namespace hyper::fuse
