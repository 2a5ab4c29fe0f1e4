#include "src/core/merkle_tree.h"

#include <gtest/gtest.h>

namespace hyper::core {
namespace {

TEST(CoreMerkleTree, BuildsParentsAndRoots) {
  ASSERT_TRUE(crypto::Init().ok());
  MerkleTree m;
  std::vector<TreeNode> nodes;
  m.Next(AsBytes("a"), &nodes);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].index.value, 0u);
  EXPECT_EQ(nodes[0].hash, crypto::LeafHash(AsBytes("a")));
  nodes.clear();
  m.Next(AsBytes("bc"), &nodes);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[1].index.value, 1u);
  EXPECT_EQ(nodes[1].size, 3u);
  EXPECT_EQ(nodes[1], ParentNode(LeafNode(0, AsBytes("a")), LeafNode(1, AsBytes("bc"))));
  nodes.clear();
  m.Next(AsBytes("d"), &nodes);
  ASSERT_EQ(m.roots().size(), 2u);
  EXPECT_EQ(m.roots()[0].index.value, 1u);
  EXPECT_EQ(m.roots()[1].index.value, 4u);
  EXPECT_EQ(m.byte_length(), 4u);
  nodes.clear();
  m.Next(AsBytes(""), &nodes);
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[2].index.value, 3u);
  EXPECT_EQ(m.roots().size(), 1u);
  EXPECT_EQ(m.blocks(), 4u);
  // Resuming from roots gives the same future.
  MerkleTree resumed(m.roots());
  EXPECT_EQ(resumed.blocks(), 4u);
  std::vector<TreeNode> a, b;
  m.Next(AsBytes("xyz"), &a);
  resumed.Next(AsBytes("xyz"), &b);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace hyper::core
