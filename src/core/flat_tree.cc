#include "src/core/flat_tree.h"

namespace hyper::core::flat {

uint64_t Index(uint64_t depth, uint64_t offset) { return ((2 * offset + 1) << depth) - 1; }

uint64_t Depth(uint64_t index) {
  uint64_t depth = 0;
  uint64_t v = index + 1;
  while (v != 0 && (v & 1) == 0) {
    ++depth;
    v >>= 1;
  }
  return depth;
}

uint64_t Offset(uint64_t index) {
  if ((index & 1) == 0) return index / 2;
  uint64_t d = Depth(index);
  return ((index + 1) >> d) / 2;
}

uint64_t Parent(uint64_t index) {
  uint64_t d = Depth(index);
  return Index(d + 1, Offset(index) >> 1);
}

uint64_t Sibling(uint64_t index) {
  uint64_t d = Depth(index);
  uint64_t o = Offset(index);
  return Index(d, (o & 1) ? o - 1 : o + 1);
}

uint64_t LeftChild(uint64_t index) {
  if ((index & 1) == 0) return index;
  uint64_t d = Depth(index);
  return Index(d - 1, Offset(index) * 2);
}

uint64_t RightChild(uint64_t index) {
  if ((index & 1) == 0) return index;
  uint64_t d = Depth(index);
  return Index(d - 1, Offset(index) * 2 + 1);
}

uint64_t LeftSpan(uint64_t index) {
  if ((index & 1) == 0) return index;
  uint64_t d = Depth(index);
  return Offset(index) << (d + 1);
}

uint64_t RightSpan(uint64_t index) {
  if ((index & 1) == 0) return index;
  uint64_t d = Depth(index);
  return ((Offset(index) + 1) << (d + 1)) - 2;
}

uint64_t Count(uint64_t index) {
  if ((index & 1) == 0) return 1;
  return (uint64_t{2} << Depth(index)) - 1;
}

void FullRoots(uint64_t index, std::vector<uint64_t>* out) {
  out->clear();
  uint64_t blocks = index / 2;
  uint64_t offset = 0;
  while (blocks != 0) {
    uint64_t factor = 1;
    while (factor * 2 <= blocks) factor *= 2;
    out->push_back(offset + factor - 1);
    offset += 2 * factor;
    blocks -= factor;
  }
}

std::vector<uint64_t> FullRoots(uint64_t index) {
  std::vector<uint64_t> out;
  FullRoots(index, &out);
  return out;
}

void Iterator::Seek(uint64_t index) {
  index_ = index;
  if (index & 1) {
    offset_ = Offset(index);
    factor_ = uint64_t{2} << Depth(index);
  } else {
    offset_ = index / 2;
    factor_ = 2;
  }
}

uint64_t Iterator::Next() {
  ++offset_;
  index_ += factor_;
  return index_;
}

uint64_t Iterator::Prev() {
  if (offset_ == 0) return index_;
  --offset_;
  index_ -= factor_;
  return index_;
}

uint64_t Iterator::Sibling() { return IsLeft() ? Next() : Prev(); }

uint64_t Iterator::Parent() {
  if (offset_ & 1) {
    index_ -= factor_ / 2;
    offset_ = (offset_ - 1) / 2;
  } else {
    index_ += factor_ / 2;
    offset_ /= 2;
  }
  factor_ *= 2;
  return index_;
}

uint64_t Iterator::LeftChild() {
  if (factor_ == 2) return index_;
  factor_ /= 2;
  index_ -= factor_ / 2;
  offset_ *= 2;
  return index_;
}

uint64_t Iterator::RightChild() {
  if (factor_ == 2) return index_;
  factor_ /= 2;
  index_ += factor_ / 2;
  offset_ = 2 * offset_ + 1;
  return index_;
}

}  // namespace hyper::core::flat
