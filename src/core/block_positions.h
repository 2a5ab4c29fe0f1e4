// Where the blocks of a feed lie in its `data` file, learned while the feed works, so that a
// read needs no tree node once its block has been seen (appended, received, read or sought).
//
// One 64-bit word per block, in pages of 256 blocks (2 KiB) allocated on first use, reached
// through chunks of 512 page pointers (4 KiB, 2^17 blocks) and a top array sized to the feed's
// length. Memory is 8 bytes per block in a page that was touched, plus 4 KiB per 2^17 blocks
// (a small feed that was read costs about 6 KiB), and never more pages than the cap given to
// the constructor: beyond it, positions are simply not remembered. A word holds:
//   bit 63      the block's byte offset is known
//   bit 62      its size is known
//   bit 61      its bytes were hashed since the feed was opened and matched its leaf ("verified")
//   bits 37-60  the size (blocks are at most 8 MiB, so 24 bits)
//   bits 0-36   the offset minus the page's base (the first offset recorded in the page), signed;
//               a page spans at most 256 blocks of 8 MiB, far inside that range.
//
// Every value recorded is the one the tree gives (the offset is the sum of the sizes of
// FullRoots(2 * block), the size is the leaf's), taken only from nodes the feed holds; those
// never change while the feed is open. So a word is written once (compare-and-swap from
// "unknown") and readers holding only the feed's shared lock may record and read concurrently.
// Reserve() and ClearVerified() need the feed's exclusive lock (no reader at the same time).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

namespace hyper::core {

class BlockPositions {
 public:
  static constexpr uint64_t kBlocksPerPage = 256;
  static constexpr uint64_t kPagesPerChunk = 512;
  // Blocks at or beyond this index are never remembered (the top array stays under 256 KiB
  // even for a feed whose signed length claims more).
  static constexpr uint64_t kMaxBlocks = uint64_t{1} << 32;

  // At most `max_blocks` blocks' worth of pages (rounded up to a whole page).
  explicit BlockPositions(uint64_t max_blocks);
  ~BlockPositions();
  BlockPositions(const BlockPositions&) = delete;
  BlockPositions& operator=(const BlockPositions&) = delete;

  // REQUIRES: no concurrent call. Lets blocks [0, blocks] be remembered (block `blocks` holds
  // the feed's end: its offset is the byte length).
  void Reserve(uint64_t blocks);

  struct Position {
    uint64_t offset = 0;
    uint64_t size = 0;
    bool verified = false;
  };
  // The block's offset and size when both are known.
  std::optional<Position> Find(uint64_t block) const;
  std::optional<uint64_t> Offset(uint64_t block) const;
  bool IsVerified(uint64_t block) const;

  // Record facts (ignored when already known, or when there is no room).
  void SetOffset(uint64_t block, uint64_t offset);
  void SetSize(uint64_t block, uint64_t size);
  // Records offset and size, then marks the block verified if the word now holds exactly them.
  void SetVerified(uint64_t block, uint64_t offset, uint64_t size);

  // REQUIRES: no concurrent call. Forgets that blocks [from, to) were verified.
  void ClearVerified(uint64_t from, uint64_t to);

  // Bytes allocated (pages, chunks, directory).
  uint64_t memory_bytes() const;

  struct Page;
  struct Chunk;

 private:
  Page* FindPage(uint64_t block) const;
  Page* GetPage(uint64_t block);

  std::unique_ptr<std::atomic<Chunk*>[]> top_;
  uint64_t top_size_ = 0;
  uint64_t max_pages_;
  std::atomic<uint64_t> pages_{0};
  std::atomic<uint64_t> chunks_{0};
};

}  // namespace hyper::core
