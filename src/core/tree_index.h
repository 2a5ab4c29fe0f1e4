// Which nodes of the Merkle tree a feed holds (the tree section of the bitfield), and the
// questions hypercore asks of it: the length it proves, proofs and digests. Sans-IO.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "src/core/bitfield.h"

namespace hyper::core {

// A set of tree nodes; either the tree section of a Bitfield or a small standalone set
// (the remote's tree while building a proof).
class TreeBits {
 public:
  virtual ~TreeBits() = default;
  virtual bool Get(uint64_t index) const = 0;
  virtual bool SetBit(uint64_t index, bool value) = 0;
  virtual uint64_t length() const = 0;
};

class MerkleIndex {
 public:
  explicit MerkleIndex(TreeBits* bits) : bits_(bits) {}

  bool Get(uint64_t index) const { return bits_->Get(index); }
  // Marks index (and every parent whose two children are now present). True when it changed.
  bool Set(uint64_t index);
  // Number of blocks the held nodes prove contiguously from block 0 (hypercore's blocks()).
  uint64_t Blocks() const;
  // Index one past the rightmost leaf reachable from index's root (hypercore's verifiedBy);
  // 0 when index is not held. Appends the nodes on the way down to *nodes when given.
  uint64_t VerifiedBy(uint64_t index, std::vector<uint64_t>* nodes = nullptr) const;
  // Clears every node at or beyond `len` (a tree index, 2 * blocks) and the parents that
  // covered them.
  void Truncate(uint64_t len);

  struct ProofPlan {
    std::vector<uint64_t> nodes;
    uint64_t verified_by = 0;  // 0: the remote already trusts a node on the path (no signature)
  };
  // hypercore's proof(): which nodes to send so the remote can verify `index`.
  std::optional<ProofPlan> Proof(uint64_t index, uint64_t digest, bool include_hash) const;
  // hypercore's digest(): which nodes on the path of `index` we hold, as a bit mask.
  uint64_t Digest(uint64_t index) const;

 private:
  TreeBits* bits_;
};

// TreeBits over the tree section of a Bitfield.
class BitfieldTreeBits : public TreeBits {
 public:
  explicit BitfieldTreeBits(Bitfield* bitfield) : bf_(bitfield) {}
  bool Get(uint64_t index) const override { return bf_->tree().Get(index); }
  bool SetBit(uint64_t index, bool value) override { return bf_->tree().Set(index, value); }
  uint64_t length() const override { return bf_->tree().length(); }

 private:
  Bitfield* bf_;
};

// A small in-memory node set.
class SmallTreeBits : public TreeBits {
 public:
  bool Get(uint64_t index) const override;
  bool SetBit(uint64_t index, bool value) override;
  uint64_t length() const override { return length_; }

 private:
  std::vector<uint64_t> set_;
  uint64_t length_ = 0;
};

}  // namespace hyper::core
