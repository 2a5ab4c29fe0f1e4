#include "src/core/bitfield.h"

#include <algorithm>
#include <cstring>

#include "src/core/flat_tree.h"

namespace hyper::core {
namespace {

// Index section: every data byte is summarised in 2 bits (11 all set, 00 none set, 01 mixed);
// four summaries make one leaf byte of a flat tree whose parents summarise each child nibble.
constexpr uint8_t kIndexUpdateMask[4] = {63, 207, 243, 252};
constexpr uint8_t kDataUpdateMask[8] = {127, 191, 223, 239, 247, 251, 253, 254};
constexpr uint8_t kDataIterateMask[8] = {128, 192, 224, 240, 248, 252, 254, 255};

struct Tables {
  uint8_t parent_right[256];
  uint8_t parent_left[256];
  uint8_t ones[256];
  Tables() {
    for (int i = 0; i < 256; ++i) {
      int hi = (i >> 4) & 15;
      int lo = i & 15;
      auto squash = [](int nibble) { return nibble == 15 ? 3 : nibble == 0 ? 0 : 1; };
      parent_right[i] = static_cast<uint8_t>((squash(hi) << 2) | squash(lo));
      parent_left[i] = static_cast<uint8_t>(parent_right[i] << 4);
      ones[i] = static_cast<uint8_t>(__builtin_popcount(static_cast<unsigned>(i)));
    }
  }
};
const Tables& T() {
  static const Tables t;
  return t;
}

uint8_t Summary(uint8_t data_byte) {
  if (data_byte == 255) return 192;
  if (data_byte == 0) return 0;
  return 64;
}

}  // namespace

const BitfieldPager::Page* BitfieldPager::Find(uint64_t page) const {
  auto it = pages_.find(page);
  return it == pages_.end() ? nullptr : it->second.get();
}

BitfieldPager::Page* BitfieldPager::GetOrCreate(uint64_t page) {
  auto& slot = pages_[page];
  if (!slot) {
    slot = std::make_unique<Page>();
    slot->fill(0);
    if (page >= length_) length_ = page + 1;
  }
  return slot.get();
}

void BitfieldPager::Load(uint64_t page, ByteView bytes) {
  if (page >= length_) length_ = page + 1;
  bool zero = std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
  if (zero) {
    pages_.erase(page);
    return;
  }
  auto& slot = pages_[page];
  if (!slot) slot = std::make_unique<Page>();
  slot->fill(0);
  std::memcpy(slot->data(), bytes.data(), std::min<size_t>(bytes.size(), kBitfieldPageSize));
}

void BitfieldPager::MarkDirty(uint64_t page) {
  if (dirty_.emplace(page, true).second) dirty_list_.push_back(page);
}

std::vector<uint64_t> BitfieldPager::TakeDirty() {
  std::vector<uint64_t> out;
  out.swap(dirty_list_);
  dirty_.clear();
  return out;
}

void BitfieldPager::Clear() {
  pages_.clear();
  length_ = 0;
  dirty_list_.clear();
  dirty_.clear();
}

uint8_t BitfieldSection::GetByte(uint64_t i) const {
  const auto* page = pager_->Find(i / page_size_);
  return page ? (*page)[page_offset_ + i % page_size_] : 0;
}

bool BitfieldSection::SetByte(uint64_t i, uint8_t b) {
  uint64_t p = i / page_size_;
  auto* page = pager_->GetOrCreate(p);
  uint8_t& slot = (*page)[page_offset_ + i % page_size_];
  if (slot == b) return false;
  slot = b;
  if (i >= byte_length_) byte_length_ = i + 1;
  pager_->MarkDirty(p);
  return true;
}

bool BitfieldSection::Set(uint64_t bit, bool value) {
  uint64_t j = bit >> 3;
  uint8_t mask = static_cast<uint8_t>(128 >> (bit & 7));
  uint8_t b = GetByte(j);
  return SetByte(j, value ? (b | mask) : (b & ~mask & 0xff));
}

Bitfield::Bitfield()
    : data_(&pager_, kDataSectionSize, 0),
      tree_(&pager_, kTreeSectionSize, kDataSectionSize),
      index_(&pager_, kIndexSectionSize, kDataSectionSize + kTreeSectionSize) {}

void Bitfield::Load(ByteView body) {
  pager_.Clear();
  for (uint64_t off = 0, p = 0; off < body.size(); off += kBitfieldPageSize, ++p) {
    uint64_t n = std::min<uint64_t>(kBitfieldPageSize, body.size() - off);
    pager_.Load(p, body.subspan(off, n));
  }
  data_.ResetLength();
  tree_.ResetLength();
  index_.ResetLength();
}

bool Bitfield::SetData(uint64_t block, bool value) {
  uint64_t o = block & 7;
  uint64_t i = block >> 3;
  uint8_t old = data_.GetByte(i);
  uint8_t v = value ? static_cast<uint8_t>(old | (128 >> o)) : (old & kDataUpdateMask[o]);
  if (!data_.SetByte(i, v)) return false;
  SetIndex(i, v);
  return true;
}

void Bitfield::SetIndex(uint64_t data_byte, uint8_t value) {
  const Tables& t = T();
  uint64_t o = data_byte & 3;
  uint64_t start = 2 * (data_byte >> 2);
  uint8_t byte = static_cast<uint8_t>((index_.GetByte(start) & kIndexUpdateMask[o]) |
                                      (Summary(value) >> (2 * o)));
  uint64_t len = index_.length();
  uint64_t max_length = pager_.length() * kIndexSectionSize;
  flat::Iterator ite(start);
  while (ite.index() < max_length && index_.SetByte(ite.index(), byte)) {
    if (ite.IsLeft()) {
      byte = t.parent_left[byte] | t.parent_right[index_.GetByte(ite.Sibling())];
    } else {
      byte = t.parent_right[byte] | t.parent_left[index_.GetByte(ite.Sibling())];
    }
    ite.Parent();
  }
  if (len != index_.length()) Expand(len);
}

void Bitfield::Expand(uint64_t length) {
  // Refreshes the parents of the roots of a tree of `length` leaves, as far as the section is
  // long. (hypercore passes the bit length of the index section here; we do the same.)
  const Tables& t = T();
  std::vector<uint64_t> roots;
  flat::FullRoots(2 * length, &roots);
  flat::Iterator ite;
  for (uint64_t root : roots) {
    ite.Seek(root);
    uint8_t byte = index_.GetByte(ite.index());
    while (true) {
      if (ite.IsLeft()) {
        byte = t.parent_left[byte] | t.parent_right[index_.GetByte(ite.Sibling())];
      } else {
        byte = t.parent_right[byte] | t.parent_left[index_.GetByte(ite.Sibling())];
      }
      uint64_t parent = ite.Parent();
      if (8 * parent >= index_.length()) break;
      if (!index_.SetByte(parent, byte)) break;
    }
  }
}

uint64_t Bitfield::Total(uint64_t start, uint64_t end) const {
  if (end <= start) return 0;
  const Tables& t = T();
  uint64_t o = start & 7;
  uint64_t e = end & 7;
  uint64_t pos = start >> 3;
  uint64_t last = end >> 3;
  uint8_t left_mask = static_cast<uint8_t>(255 - (o ? kDataIterateMask[o - 1] : 0));
  uint8_t right_mask = e ? kDataIterateMask[e - 1] : 0;
  uint8_t byte = data_.GetByte(pos);
  if (pos == last) return t.ones[byte & left_mask & right_mask];
  uint64_t total = t.ones[byte & left_mask];
  for (uint64_t i = pos + 1; i < last; ++i) {
    // Skip absent pages quickly.
    if (i % kDataSectionSize == 0 && !pager_.Find(i / kDataSectionSize)) {
      i += kDataSectionSize - 1;
      if (i >= last) break;
      continue;
    }
    total += t.ones[data_.GetByte(i)];
  }
  total += t.ones[data_.GetByte(last) & right_mask];
  return total;
}

void Bitfield::CopyPage(uint64_t page, MutableByteView out) const {
  const auto* p = pager_.Find(page);
  if (p) {
    std::memcpy(out.data(), p->data(), kBitfieldPageSize);
  } else {
    std::memset(out.data(), 0, kBitfieldPageSize);
  }
}

Bytes Bitfield::DataBytes(uint64_t blocks) const {
  Bytes out((blocks + 7) / 8, 0);
  for (uint64_t i = 0; i < out.size(); ++i) out[i] = data_.GetByte(i);
  if (blocks & 7) out.back() &= kDataIterateMask[(blocks & 7) - 1];
  return out;
}

}  // namespace hyper::core
