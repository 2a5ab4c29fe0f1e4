// Builds the Merkle tree of a feed incrementally: each appended block yields its leaf and the
// parents it completes. Sans-IO; hashes as hypercore-crypto defines them.
#pragma once

#include <vector>

#include "hyper/core/feed.h"
#include "hyper/crypto/crypto.h"

namespace hyper::core {

crypto::TreeNodeRef ToRef(const TreeNode& n);
// The parent of two sibling nodes (any order).
TreeNode ParentNode(const TreeNode& a, const TreeNode& b);
TreeNode LeafNode(uint64_t block, ByteView data);
// The 40 bytes a signature covers: root hash of `roots` and the length.
std::array<uint8_t, 40> SignableOf(const std::vector<TreeNode>& roots, uint64_t length);

class MerkleTree {
 public:
  // roots: the current roots, left to right (empty for an empty feed).
  explicit MerkleTree(std::vector<TreeNode> roots = {});
  // Adds the next block; appends the new leaf and every parent it completes to *nodes,
  // bottom up.
  void Next(ByteView data, std::vector<TreeNode>* nodes);
  // The same with the block's leaf node already computed (LeafNode(blocks(), data)).
  void Next(const TreeNode& leaf, std::vector<TreeNode>* nodes);
  const std::vector<TreeNode>& roots() const { return roots_; }
  uint64_t blocks() const { return blocks_; }
  uint64_t byte_length() const;

 private:
  std::vector<TreeNode> roots_;
  uint64_t blocks_ = 0;
};

}  // namespace hyper::core
