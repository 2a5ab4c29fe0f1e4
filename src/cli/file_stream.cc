#include "file_stream.h"

#include <unistd.h>

#include <cerrno>
#include <memory>

#include "hyper/drive/file_reader.h"

namespace hyper::cli {

Status WriteAll(int fd, ByteView data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "writing " + what);
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status CopyToFd(const drive::Drive& drive, const std::string& path, uint64_t start, uint64_t length,
                int fd, const std::string& what, const std::function<void(uint64_t)>& on_bytes) {
  ASSIGN_OR_RETURN(auto reader, drive::FileReader::Open(drive, path, start, length));
  while (true) {
    ASSIGN_OR_RETURN(ByteView chunk, reader->Next());
    if (chunk.empty()) return Status::Ok();
    RETURN_IF_ERROR(WriteAll(fd, chunk, what));
    if (on_bytes) on_bytes(chunk.size());
  }
}

Status CopyFromFd(int fd, drive::FileWriter& writer, const std::string& what,
                  const std::function<void(uint64_t)>& on_bytes,
                  std::unique_lock<std::mutex>* drive_lock) {
  auto buffer = std::make_unique_for_overwrite<uint8_t[]>(kCopyInBytes);
  bool eof = false;
  while (!eof) {
    // Readers of the drive go on while the input keeps us waiting.
    if (drive_lock != nullptr && drive_lock->owns_lock()) drive_lock->unlock();
    size_t filled = 0;  // fill the buffer (a pipe gives less at a time)
    while (filled < kCopyInBytes) {
      ssize_t n = ::read(fd, buffer.get() + filled, kCopyInBytes - filled);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (drive_lock != nullptr && !drive_lock->owns_lock()) drive_lock->lock();
        return Status::FromErrno(errno, "reading " + what);
      }
      if (n == 0) {
        eof = true;
        break;
      }
      filled += static_cast<size_t>(n);
    }
    if (drive_lock != nullptr && !drive_lock->owns_lock()) drive_lock->lock();
    if (filled == 0) break;
    RETURN_IF_ERROR(writer.Write(ByteView(buffer.get(), filled)));
    if (on_bytes) on_bytes(filled);
  }
  return Status::Ok();
}

}  // namespace hyper::cli
