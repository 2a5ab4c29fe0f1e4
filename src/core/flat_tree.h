// Flat-tree arithmetic: a binary tree laid out in a flat array, leaves at even indexes, a
// node at depth d and offset o at index (2o+1)*2^d - 1. Both the Merkle tree of a feed
// (indexes are TreeIndex values) and the index section of the bitfield (indexes are byte
// positions) use it, so the functions take plain uint64_t.
#pragma once

#include <cstdint>
#include <vector>

namespace hyper::core::flat {

uint64_t Index(uint64_t depth, uint64_t offset);
uint64_t Depth(uint64_t index);
uint64_t Offset(uint64_t index);
uint64_t Parent(uint64_t index);
uint64_t Sibling(uint64_t index);
// REQUIRES: index is odd (not a leaf).
uint64_t LeftChild(uint64_t index);
uint64_t RightChild(uint64_t index);
// The leftmost / rightmost leaf below index (index itself for a leaf).
uint64_t LeftSpan(uint64_t index);
uint64_t RightSpan(uint64_t index);
// Number of nodes in the subtree rooted at index.
uint64_t Count(uint64_t index);
// The roots of the tree whose leaves are 0, 2, ..., index-2 (index is even: 2 * blocks),
// left to right.
std::vector<uint64_t> FullRoots(uint64_t index);
void FullRoots(uint64_t index, std::vector<uint64_t>* out);

// A cursor that walks the tree cheaply (keeps offset and 2^(depth+1) around).
class Iterator {
 public:
  explicit Iterator(uint64_t index = 0) { Seek(index); }
  void Seek(uint64_t index);
  uint64_t index() const { return index_; }
  uint64_t offset() const { return offset_; }
  uint64_t factor() const { return factor_; }
  bool IsLeft() const { return (offset_ & 1) == 0; }
  bool IsRight() const { return (offset_ & 1) == 1; }
  uint64_t Next();
  uint64_t Prev();
  uint64_t Sibling();
  uint64_t Parent();
  uint64_t LeftChild();
  uint64_t RightChild();
  uint64_t PeekRightSpan() const { return index_ + factor_ / 2 - 1; }
  uint64_t PeekLeftSpan() const { return index_ + 1 - factor_ / 2; }

 private:
  uint64_t index_ = 0;
  uint64_t offset_ = 0;
  uint64_t factor_ = 2;
};

}  // namespace hyper::core::flat
