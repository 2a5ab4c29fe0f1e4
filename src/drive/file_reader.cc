// FileReader: a file's bytes streamed through core::BlockReader
// (include/hyper/drive/file_reader.h).
#include "hyper/drive/file_reader.h"

#include <algorithm>

namespace hyper::drive {

Result<std::unique_ptr<FileReader>> FileReader::Open(const Drive& drive, std::string_view path,
                                                     uint64_t start, uint64_t length) {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  const trie::Trie* holder = nullptr;
  ASSIGN_OR_RETURN(Stat st, drive.ResolveStat(norm, &holder, nullptr));
  if (st.IsDirectory()) return Status::IsADirectory(norm + " is a directory");
  start = std::min(start, st.size);
  length = std::min(length, st.size - start);
  if (length == 0) {
    // Nothing to read: no content feed needed (an empty file of a drive without content).
    return std::unique_ptr<FileReader>(new FileReader(std::move(st), 0, 0, nullptr));
  }
  auto blocks = OpenBlocks(drive, norm, st, holder, start, length);
  if (!blocks.ok()) return drive.ExplainReadError(norm, st, holder, blocks.status());
  auto reader = std::unique_ptr<FileReader>(
      new FileReader(std::move(st), blocks->second, length, std::move(blocks->first)));
  reader->drive_ = &drive;
  reader->path_ = std::move(norm);
  reader->holder_ = holder;
  return reader;
}

Result<std::pair<std::unique_ptr<core::BlockReader>, uint64_t>> FileReader::OpenBlocks(
    const Drive& drive, const std::string& norm, const Stat& st, const trie::Trie* holder,
    uint64_t start, uint64_t length) {
  ASSIGN_OR_RETURN(core::Feed * content, drive.ContentFeed(holder));
  const uint64_t end_block = st.offset + st.blocks;
  // The file starts at a block boundary: only a range that starts or ends inside it needs the
  // tree's seek.
  std::pair<BlockIndex, uint64_t> first{BlockIndex(st.offset), 0};
  if (start != 0) {
    ASSIGN_OR_RETURN(first, content->Seek(ByteOffset(st.byte_offset + start)));
  }
  uint64_t last = end_block;
  if (start + length < st.size) {
    // The block of the range's last byte (length > 0), not of the byte after it: a range that
    // ends at a block boundary must not need the next block's tree nodes, which a sparse replica
    // holding just the range's blocks lacks.
    ASSIGN_OR_RETURN(auto end, content->Seek(ByteOffset(st.byte_offset + start + length - 1)));
    last = end.first.value + 1;
  }
  if (first.first.value < st.offset || last > end_block || first.first.value >= last) {
    return Status::Corruption(norm + ": its Stat does not match the content feed");
  }
  return std::make_pair(
      std::make_unique<core::BlockReader>(*content, first.first, BlockIndex(last)), first.second);
}

FileReader::FileReader(Stat stat, uint64_t skip, uint64_t length,
                       std::unique_ptr<core::BlockReader> blocks)
    : stat_(std::move(stat)), skip_(skip), remaining_(length), blocks_(std::move(blocks)) {}

FileReader::~FileReader() = default;

Result<ByteView> FileReader::Next() {
  while (remaining_ > 0) {
    auto next = blocks_->Next();
    if (!next.ok()) return drive_->ExplainReadError(path_, stat_, holder_, next.status());
    ByteView chunk = *next;
    if (chunk.empty()) return Status::Corruption("the file's content ends before its size");
    if (chunk.size() <= skip_) {  // wholly before the range
      skip_ -= chunk.size();
      continue;
    }
    chunk = chunk.subspan(skip_);
    skip_ = 0;
    if (chunk.size() > remaining_) chunk = chunk.first(remaining_);
    remaining_ -= chunk.size();
    return chunk;
  }
  return ByteView();
}

}  // namespace hyper::drive
