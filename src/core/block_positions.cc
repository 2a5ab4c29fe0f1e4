#include "src/core/block_positions.h"

#include <algorithm>

namespace hyper::core {
namespace {

constexpr uint64_t kOffsetKnown = uint64_t{1} << 63;
constexpr uint64_t kSizeKnown = uint64_t{1} << 62;
constexpr uint64_t kVerified = uint64_t{1} << 61;
constexpr int kSizeShift = 37;
constexpr uint64_t kSizeMask = (uint64_t{1} << 24) - 1;
constexpr uint64_t kDeltaMask = (uint64_t{1} << kSizeShift) - 1;
constexpr int64_t kDeltaLimit = int64_t{1} << (kSizeShift - 1);
constexpr uint64_t kNoBase = UINT64_MAX;

uint64_t Decode(uint64_t base, uint64_t word) {
  uint64_t delta = word & kDeltaMask;
  if (delta & (uint64_t{1} << (kSizeShift - 1))) delta |= ~kDeltaMask;  // sign-extend
  return base + delta;
}

// Ors `bits` into `word` unless `known` is set there already (the first value recorded stays:
// racing writers of one block's offset or size agree, and a later one changes nothing).
void SetOnce(std::atomic<uint64_t>& word, uint64_t known, uint64_t bits) {
  uint64_t cur = word.load(std::memory_order_relaxed);
  while (!(cur & known)) {
    if (word.compare_exchange_weak(cur, cur | bits, std::memory_order_release,
                                   std::memory_order_relaxed)) {
      return;
    }
  }
}

}  // namespace

struct BlockPositions::Page {
  std::atomic<uint64_t> base{kNoBase};
  std::atomic<uint64_t> words[kBlocksPerPage] = {};
};

struct BlockPositions::Chunk {
  std::atomic<Page*> pages[kPagesPerChunk] = {};
};

BlockPositions::BlockPositions(uint64_t max_blocks)
    : max_pages_((max_blocks + kBlocksPerPage - 1) / kBlocksPerPage) {}

BlockPositions::~BlockPositions() {
  for (uint64_t c = 0; c < top_size_; ++c) {
    Chunk* chunk = top_[c].load(std::memory_order_relaxed);
    if (!chunk) continue;
    for (auto& p : chunk->pages) delete p.load(std::memory_order_relaxed);
    delete chunk;
  }
}

void BlockPositions::Reserve(uint64_t blocks) {
  uint64_t last = std::min(blocks, kMaxBlocks - 1);
  uint64_t want = last / (kBlocksPerPage * kPagesPerChunk) + 1;
  if (want <= top_size_) return;
  auto top = std::make_unique<std::atomic<Chunk*>[]>(want);
  for (uint64_t c = 0; c < top_size_; ++c) {
    top[c].store(top_[c].load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  top_ = std::move(top);
  top_size_ = want;
}

BlockPositions::Page* BlockPositions::FindPage(uint64_t block) const {
  uint64_t page = block / kBlocksPerPage;
  uint64_t c = page / kPagesPerChunk;
  if (c >= top_size_) return nullptr;
  Chunk* chunk = top_[c].load(std::memory_order_acquire);
  if (!chunk) return nullptr;
  return chunk->pages[page % kPagesPerChunk].load(std::memory_order_acquire);
}

BlockPositions::Page* BlockPositions::GetPage(uint64_t block) {
  uint64_t page = block / kBlocksPerPage;
  uint64_t c = page / kPagesPerChunk;
  if (c >= top_size_) return nullptr;
  Chunk* chunk = top_[c].load(std::memory_order_acquire);
  if (!chunk) {
    auto fresh = std::make_unique<Chunk>();
    if (top_[c].compare_exchange_strong(chunk, fresh.get(), std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
      chunk = fresh.release();
      chunks_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::atomic<Page*>& slot = chunk->pages[page % kPagesPerChunk];
  Page* p = slot.load(std::memory_order_acquire);
  if (p) return p;
  if (pages_.fetch_add(1, std::memory_order_relaxed) >= max_pages_) {
    pages_.fetch_sub(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto fresh = std::make_unique<Page>();
  if (slot.compare_exchange_strong(p, fresh.get(), std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
    return fresh.release();
  }
  pages_.fetch_sub(1, std::memory_order_relaxed);
  return p;
}

std::optional<BlockPositions::Position> BlockPositions::Find(uint64_t block) const {
  Page* page = FindPage(block);
  if (!page) return std::nullopt;
  uint64_t w = page->words[block % kBlocksPerPage].load(std::memory_order_acquire);
  if ((w & (kOffsetKnown | kSizeKnown)) != (kOffsetKnown | kSizeKnown)) return std::nullopt;
  Position p;
  p.offset = Decode(page->base.load(std::memory_order_relaxed), w);
  p.size = (w >> kSizeShift) & kSizeMask;
  p.verified = (w & kVerified) != 0;
  return p;
}

std::optional<uint64_t> BlockPositions::Offset(uint64_t block) const {
  if (block == 0) return 0;
  Page* page = FindPage(block);
  if (!page) return std::nullopt;
  uint64_t w = page->words[block % kBlocksPerPage].load(std::memory_order_acquire);
  if (!(w & kOffsetKnown)) return std::nullopt;
  return Decode(page->base.load(std::memory_order_relaxed), w);
}

bool BlockPositions::IsVerified(uint64_t block) const {
  Page* page = FindPage(block);
  return page &&
         (page->words[block % kBlocksPerPage].load(std::memory_order_acquire) & kVerified) != 0;
}

void BlockPositions::SetOffset(uint64_t block, uint64_t offset) {
  if (block >= kMaxBlocks) return;
  Page* page = GetPage(block);
  if (!page) return;
  uint64_t base = page->base.load(std::memory_order_acquire);
  if (base == kNoBase) {
    // The first offset recorded in a page is its base (kNoBase itself can never be an offset
    // worth remembering: it does not fit any data file).
    if (offset == kNoBase) return;
    if (page->base.compare_exchange_strong(base, offset, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
      base = offset;
    }
  }
  auto delta = static_cast<int64_t>(offset - base);
  if (delta < -kDeltaLimit || delta >= kDeltaLimit) return;  // only with absurd (corrupt) sizes
  SetOnce(page->words[block % kBlocksPerPage], kOffsetKnown,
          kOffsetKnown | (static_cast<uint64_t>(delta) & kDeltaMask));
}

void BlockPositions::SetSize(uint64_t block, uint64_t size) {
  if (block >= kMaxBlocks || size > kSizeMask) return;
  Page* page = GetPage(block);
  if (!page) return;
  SetOnce(page->words[block % kBlocksPerPage], kSizeKnown, kSizeKnown | (size << kSizeShift));
}

void BlockPositions::SetVerified(uint64_t block, uint64_t offset, uint64_t size) {
  SetOffset(block, offset);
  SetSize(block, size);
  auto p = Find(block);
  if (!p || p->offset != offset || p->size != size) return;
  FindPage(block)->words[block % kBlocksPerPage].fetch_or(kVerified, std::memory_order_acq_rel);
}

void BlockPositions::ClearVerified(uint64_t from, uint64_t to) {
  for (uint64_t b = from; b < to && b < kMaxBlocks;) {
    uint64_t page_end = (b / kBlocksPerPage + 1) * kBlocksPerPage;
    Page* page = FindPage(b);
    if (page) {
      for (uint64_t i = b; i < std::min(to, page_end); ++i) {
        page->words[i % kBlocksPerPage].fetch_and(~kVerified, std::memory_order_relaxed);
      }
    }
    b = page_end;
  }
}

uint64_t BlockPositions::memory_bytes() const {
  return pages_.load(std::memory_order_relaxed) * sizeof(Page) +
         chunks_.load(std::memory_order_relaxed) * sizeof(Chunk) +
         top_size_ * sizeof(std::atomic<Chunk*>);
}

}  // namespace hyper::core
