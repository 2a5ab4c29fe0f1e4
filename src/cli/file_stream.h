// Streaming file bytes between a drive and a file descriptor. Out (cat, export): the bytes come
// from drive::FileReader in large checked chunks and go out in as large writes, with no copy
// between. In (put, import): the descriptor is read in large chunks into one reused buffer that
// the FileWriter appends from without copying.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "hyper/drive/drive.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::cli {

// Writes all of `data` to `fd` (retrying short writes and EINTR); `what` names the output in
// an error.
Status WriteAll(int fd, ByteView data, const std::string& what);

// Copies bytes [start, start + length) of the file at `path` (clamped to its end) to `fd`.
// `on_bytes` (when set) is called with the number of bytes written after each chunk.
// Corruption when a block does not match its hash: nothing of that chunk is written.
Status CopyToFd(const drive::Drive& drive, const std::string& path, uint64_t start, uint64_t length,
                int fd, const std::string& what,
                const std::function<void(uint64_t)>& on_bytes = {});

// Bytes read at a time by CopyFromFd: a whole number of content blocks.
constexpr size_t kCopyInBytes = 16 * drive::kContentBlockBytes;  // 8 MiB

// Reads `fd` to its end and writes it through `writer`, one Write per kCopyInBytes read (so
// every block is a full kContentBlockBytes but the last, whatever the descriptor delivers).
// `on_bytes` as for CopyToFd. With `drive_lock` (the daemon's lock of the drive, held), the
// lock is released while the descriptor is read and taken again for each Write: readers of
// the drive are not held up by a slow input (put from a terminal).
Status CopyFromFd(int fd, drive::FileWriter& writer, const std::string& what,
                  const std::function<void(uint64_t)>& on_bytes = {},
                  std::unique_lock<std::mutex>* drive_lock = nullptr);

}  // namespace hyper::cli
