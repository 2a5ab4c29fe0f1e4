// hyper::drive::FileReader — streams a file of a drive (or a range of it) in large chunks at
// the speed of the disk: the content blocks are read a chunk at a time into reused buffers and
// checked on two cores while the caller writes out the chunk before (core::BlockReader). Every
// block is still checked on its first read; a block changed on disk is Corruption.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "hyper/core/block_reader.h"
#include "hyper/drive/drive.h"

namespace hyper::drive {

class FileReader {
 public:
  // Bytes [start, start + length) of the file at `path` (symlinks followed), clamped to the
  // file's end. IsADirectory for a directory, NotFound when there is no such path.
  // REQUIRES: the drive outlives the reader.
  static Result<std::unique_ptr<FileReader>> Open(const Drive& drive, std::string_view path,
                                                  uint64_t start = 0, uint64_t length = UINT64_MAX);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // The file's Stat (of the symlink's target for a symlink).
  const Stat& stat() const { return stat_; }
  // Bytes of the range not yet returned by Next.
  uint64_t remaining() const { return remaining_; }

  // The next bytes of the range, in order (up to core::BlockReader::kChunkBytes); empty once
  // the range is done. Valid until the next call. Corruption when the content feed holds fewer
  // bytes than the Stat says or a block does not match its hash.
  Result<ByteView> Next();

 private:
  FileReader(Stat stat, uint64_t skip, uint64_t length, std::unique_ptr<core::BlockReader> blocks);
  // The blocks holding [start, start + length) of the file, and the bytes of the first before
  // `start`.
  static Result<std::pair<std::unique_ptr<core::BlockReader>, uint64_t>> OpenBlocks(
      const Drive& drive, const std::string& norm, const Stat& st, const trie::Trie* holder,
      uint64_t start, uint64_t length);
  Stat stat_;
  uint64_t skip_;  // bytes of the first block before the range
  uint64_t remaining_;
  std::unique_ptr<core::BlockReader> blocks_;  // null for an empty range
  // For errors worded as Drive::ReadRange words them.
  const Drive* drive_ = nullptr;
  std::string path_;
  const trie::Trie* holder_ = nullptr;
};

}  // namespace hyper::drive
