#include "src/core/tree_index.h"

#include <algorithm>

#include "src/core/flat_tree.h"

namespace hyper::core {

bool SmallTreeBits::Get(uint64_t index) const {
  return std::find(set_.begin(), set_.end(), index) != set_.end();
}

bool SmallTreeBits::SetBit(uint64_t index, bool value) {
  auto it = std::find(set_.begin(), set_.end(), index);
  if (value) {
    if (it != set_.end()) return false;
    set_.push_back(index);
    uint64_t byte_len = index / 8 + 1;
    if (8 * byte_len > length_) length_ = 8 * byte_len;
    return true;
  }
  if (it == set_.end()) return false;
  set_.erase(it);
  return true;
}

bool MerkleIndex::Set(uint64_t index) {
  if (!bits_->SetBit(index, true)) return false;
  while (bits_->Get(flat::Sibling(index))) {
    index = flat::Parent(index);
    if (!bits_->SetBit(index, true)) break;
  }
  return true;
}

uint64_t MerkleIndex::Blocks() const {
  uint64_t top = 0;
  uint64_t next = 0;
  uint64_t max = bits_->length();
  while (flat::RightSpan(next) < max) {
    next = flat::Parent(next);
    if (Get(next)) top = next;
  }
  return (Get(top) ? VerifiedBy(top) : 0) / 2;
}

uint64_t MerkleIndex::VerifiedBy(uint64_t index, std::vector<uint64_t>* nodes) const {
  if (!Get(index)) return 0;
  // Climb to the root of the subtree we hold.
  uint64_t depth = flat::Depth(index);
  uint64_t top = index;
  uint64_t parent = flat::Parent(top);
  ++depth;
  while (Get(parent) && Get(flat::Sibling(top))) {
    top = parent;
    parent = flat::Parent(top);
    ++depth;
  }
  // Walk down the right edge: at each level step to the next tree on the right and descend
  // along left children until a held node is found.
  --depth;
  while (depth) {
    top = flat::LeftChild(flat::Index(depth, flat::Offset(top) + 1));
    --depth;
    while (!Get(top) && depth) {
      top = flat::LeftChild(top);
      --depth;
    }
    if (nodes && Get(top)) nodes->push_back(top);
  }
  return Get(top) ? top + 2 : top;
}

void MerkleIndex::Truncate(uint64_t len) {
  uint64_t current = 2 * Blocks();
  for (uint64_t i = len; i < current; ++i) bits_->SetBit(i, false);
  for (uint64_t root : flat::FullRoots(len)) {
    uint64_t p = flat::Parent(root);
    while (p < len) {
      bits_->SetBit(p, false);
      p = flat::Parent(p);
    }
  }
}

namespace {
uint64_t RightShift(uint64_t n) { return n >> 1; }
}  // namespace

std::optional<MerkleIndex::ProofPlan> MerkleIndex::Proof(uint64_t index, uint64_t digest,
                                                         bool include_hash) const {
  ProofPlan plan;
  SmallTreeBits remote_bits;
  MerkleIndex remote(&remote_bits);

  if (!Get(index)) return std::nullopt;
  if (include_hash) plan.nodes.push_back(index);
  if (digest == 1) return plan;

  uint64_t next = index;
  bool has_root = (digest & 1) != 0;
  digest = RightShift(digest);

  while (digest) {
    if (digest == 1 && has_root) {
      if (Get(next)) remote.Set(next);
      // Having a root implies having the roots before it.
      uint64_t sib = flat::Sibling(next);
      if (sib < next) next = sib;
      for (uint64_t r : flat::FullRoots(flat::RightSpan(next) + 2)) {
        if (Get(r)) remote.Set(r);
      }
      break;
    }
    uint64_t sibling = flat::Sibling(next);
    if (digest & 1) {
      if (Get(sibling)) remote.Set(sibling);
    }
    next = flat::Parent(next);
    digest = RightShift(digest);
  }

  next = index;
  while (!remote.Get(next)) {
    uint64_t sibling = flat::Sibling(next);
    if (!Get(sibling)) {
      // next is one of our roots: the remote verifies through the signature.
      uint64_t verified_by = VerifiedBy(next);
      for (uint64_t r : flat::FullRoots(verified_by)) {
        if (r != next && !remote.Get(r)) plan.nodes.push_back(r);
      }
      plan.verified_by = verified_by;
      return plan;
    }
    if (!remote.Get(sibling)) plan.nodes.push_back(sibling);
    next = flat::Parent(next);
  }
  return plan;
}

uint64_t MerkleIndex::Digest(uint64_t index) const {
  if (Get(index)) return 1;
  uint64_t digest = 0;
  uint64_t next = flat::Sibling(index);
  uint64_t max = std::max(next + 2, bits_->length());
  uint64_t bit = 2;
  uint64_t parent = flat::Parent(next);
  while (flat::RightSpan(next) < max || flat::LeftSpan(parent) > 0) {
    if (Get(next)) digest += bit;
    if (Get(parent)) {
      digest += 2 * bit;
      if (!(digest & 1)) digest += 1;
      if (digest + 1 == 4 * bit) return 1;
      return digest;
    }
    next = flat::Sibling(parent);
    parent = flat::Parent(next);
    bit *= 2;
    if (bit == 0) break;  // more than 64 levels cannot happen with 2^63 nodes
  }
  return digest;
}

}  // namespace hyper::core
