#include "src/core/merkle_tree.h"

#include "src/core/flat_tree.h"

namespace hyper::core {

crypto::TreeNodeRef ToRef(const TreeNode& n) {
  crypto::TreeNodeRef r;
  r.index = n.index.value;
  r.size = n.size;
  r.hash = n.hash;
  return r;
}

TreeNode ParentNode(const TreeNode& a, const TreeNode& b) {
  TreeNode p;
  p.index = TreeIndex(flat::Parent(a.index.value));
  p.hash = crypto::ParentHash(ToRef(a), ToRef(b));
  p.size = a.size + b.size;
  return p;
}

TreeNode LeafNode(uint64_t block, ByteView data) {
  TreeNode n;
  n.index = TreeIndex(2 * block);
  n.hash = crypto::LeafHash(data);
  n.size = data.size();
  return n;
}

std::array<uint8_t, 40> SignableOf(const std::vector<TreeNode>& roots, uint64_t length) {
  std::vector<crypto::TreeNodeRef> refs;
  refs.reserve(roots.size());
  for (const auto& r : roots) refs.push_back(ToRef(r));
  return crypto::Signable(refs, length);
}

MerkleTree::MerkleTree(std::vector<TreeNode> roots) : roots_(std::move(roots)) {
  blocks_ = roots_.empty() ? 0 : 1 + flat::RightSpan(roots_.back().index.value) / 2;
}

void MerkleTree::Next(ByteView data, std::vector<TreeNode>* nodes) {
  Next(LeafNode(blocks_, data), nodes);
}

void MerkleTree::Next(const TreeNode& leaf, std::vector<TreeNode>* nodes) {
  ++blocks_;
  roots_.push_back(leaf);
  nodes->push_back(leaf);
  while (roots_.size() > 1) {
    const TreeNode& left = roots_[roots_.size() - 2];
    const TreeNode& right = roots_.back();
    if (flat::Parent(left.index.value) != flat::Parent(right.index.value)) break;
    TreeNode parent = ParentNode(left, right);
    roots_.pop_back();
    roots_.back() = parent;
    nodes->push_back(parent);
  }
}

uint64_t MerkleTree::byte_length() const {
  uint64_t total = 0;
  for (const auto& r : roots_) total += r.size;
  return total;
}

}  // namespace hyper::core
