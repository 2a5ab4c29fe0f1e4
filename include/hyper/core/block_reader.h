// hyper::core::BlockReader — streams a range of a feed's blocks at the speed of the disk, each
// block checked on its first read as Feed::Get checks it.
//
// Two buffers of kChunkBytes, allocated once (never zeroed) and used in turn: a chunk of
// consecutive blocks is read into one with a single positional read (Feed::ReadRun), and while
// the blocks of that chunk are hashed by the shared leaf-hash pool (src/core/leaf_hasher.h), the
// calling thread reads the next chunk, and the caller writes out the chunk returned before.
// A chunk is returned only once every block in it matched its leaf hash: a block changed on
// disk behind the feed's back is Corruption, never returned. Blocks that are not local are
// fetched through Feed::Get (with the fetcher), one at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hyper/core/feed.h"

namespace hyper::core {

class LeafHasher;

class BlockReader {
 public:
  // Bytes per buffer: whole blocks are read, and a block is at most kMaxBlockBytes.
  static constexpr uint64_t kChunkBytes = 8 * 1024 * 1024;
  static_assert(kChunkBytes >= kMaxBlockBytes);

  // Streams blocks [first, end) of `feed`. `options` apply to blocks fetched through Get.
  // REQUIRES: the feed outlives the reader.
  BlockReader(Feed& feed, BlockIndex first, BlockIndex end, GetOptions options = {});
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  // The next whole blocks of the range, back to back and checked; empty once the range is done.
  // The bytes stay valid until the next call. After an error the reader is unusable.
  Result<ByteView> Next();

  struct Chunk;

 private:
  // Reads the blocks from next_ into chunk i (a run, or one block through Get).
  Status Fill(int i);
  void StartCheck(int i);
  Status FinishCheck(int i);

  Feed& feed_;
  uint64_t next_;  // the first block not yet read
  uint64_t end_;
  GetOptions options_;
  std::unique_ptr<Chunk> chunks_[2];
  int in_flight_ = -1;  // the chunk read and being checked, if any
  Status failed_;
};

}  // namespace hyper::core
