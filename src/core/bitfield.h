// The `bitfield` file of a feed, in memory. The file is a 32-byte header followed by pages of
// 3584 bytes; page p holds three sections:
//   [0, 1024)     data bits of blocks [8192p, 8192(p+1)), most significant bit first
//   [1024, 3072)  tree bits of tree nodes [16384p, 16384(p+1)) (which nodes we hold)
//   [3072, 3584)  index bytes [512p, 512(p+1)): a flat tree of 2-bit summaries of data bytes
// This is a sans-IO model: it tracks which pages changed (Dirty / TakeDirty) and the caller
// writes them at 32 + 3584p. The update rules reproduce hypercore 9.12 so that the file is
// byte-identical (see docs/formats/hypercore.md).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "hyper/util/bytes.h"

namespace hyper::core {

constexpr uint64_t kBitfieldPageSize = 3584;
constexpr uint64_t kDataSectionSize = 1024;
constexpr uint64_t kTreeSectionSize = 2048;
constexpr uint64_t kIndexSectionSize = 512;
constexpr uint64_t kBitfieldHeaderSize = 32;
// Refuse to hold more pages than this (about 2^36 blocks).
constexpr uint64_t kMaxBitfieldPages = uint64_t{1} << 23;

// Pages of kBitfieldPageSize bytes, allocated on demand, with the set of changed pages.
class BitfieldPager {
 public:
  using Page = std::array<uint8_t, kBitfieldPageSize>;
  BitfieldPager() = default;
  BitfieldPager(const BitfieldPager&) = delete;
  BitfieldPager& operator=(const BitfieldPager&) = delete;

  // nullptr when the page was never allocated.
  const Page* Find(uint64_t page) const;
  // Allocates a zero page when missing (and grows length()).
  Page* GetOrCreate(uint64_t page);
  // Loads a page read from disk (shorter input is zero padded). Grows length().
  void Load(uint64_t page, ByteView bytes);
  // One past the highest page index allocated or loaded.
  uint64_t length() const { return length_; }

  void MarkDirty(uint64_t page);
  bool HasDirty() const { return !dirty_list_.empty(); }
  // The changed pages since the last call, in no particular order.
  std::vector<uint64_t> TakeDirty();
  void Clear();

 private:
  std::unordered_map<uint64_t, std::unique_ptr<Page>> pages_;
  uint64_t length_ = 0;
  std::vector<uint64_t> dirty_list_;
  std::unordered_map<uint64_t, bool> dirty_;
};

// One section of every page seen as one long bit array (sparse-bitfield's model).
class BitfieldSection {
 public:
  BitfieldSection(BitfieldPager* pager, uint64_t page_size, uint64_t page_offset)
      : pager_(pager), page_size_(page_size), page_offset_(page_offset) {}
  uint8_t GetByte(uint64_t i) const;
  // Returns true when the byte changed. Allocates its page.
  bool SetByte(uint64_t i, uint8_t b);
  bool Get(uint64_t bit) const { return (GetByte(bit >> 3) & (128 >> (bit & 7))) != 0; }
  bool Set(uint64_t bit, bool value);
  uint64_t byte_length() const { return byte_length_; }
  uint64_t length() const { return 8 * byte_length_; }
  void ResetLength() { byte_length_ = pager_->length() * page_size_; }

 private:
  BitfieldPager* pager_;
  uint64_t page_size_;
  uint64_t page_offset_;
  uint64_t byte_length_ = 0;
};

class Bitfield {
 public:
  Bitfield();
  Bitfield(const Bitfield&) = delete;
  Bitfield& operator=(const Bitfield&) = delete;

  // Replaces the content with the pages of a bitfield file body (the bytes after the header).
  void Load(ByteView body);

  // Sets a block's data bit (and updates the index section). True when it changed.
  bool SetData(uint64_t block, bool value);
  bool GetData(uint64_t block) const { return data_.Get(block); }
  // Number of data bits set in [start, end).
  uint64_t Total(uint64_t start, uint64_t end) const;

  BitfieldSection& tree() { return tree_; }
  const BitfieldSection& tree() const { return tree_; }
  const BitfieldSection& data() const { return data_; }
  const BitfieldSection& index() const { return index_; }

  BitfieldPager& pager() { return pager_; }
  // The bytes of page p as they go to disk (zeros for an absent page).
  void CopyPage(uint64_t page, MutableByteView out) const;
  // The data section as one buffer of ceil(blocks/8) bytes starting at block 0.
  Bytes DataBytes(uint64_t blocks) const;

 private:
  void SetIndex(uint64_t data_byte, uint8_t value);
  void Expand(uint64_t length);

  BitfieldPager pager_;
  BitfieldSection data_;
  BitfieldSection tree_;
  BitfieldSection index_;
};

}  // namespace hyper::core
