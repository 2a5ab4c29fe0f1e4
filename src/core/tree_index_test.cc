#include "src/core/tree_index.h"

#include <gtest/gtest.h>

namespace hyper::core {
namespace {

TEST(CoreMerkleIndex, SetPropagatesAndCountsBlocks) {
  Bitfield bf;
  BitfieldTreeBits bits(&bf);
  MerkleIndex tree(&bits);
  EXPECT_EQ(tree.Blocks(), 0u);
  EXPECT_TRUE(tree.Set(0));
  EXPECT_FALSE(tree.Set(0));
  EXPECT_EQ(tree.Blocks(), 1u);
  tree.Set(2);
  EXPECT_TRUE(tree.Get(1));
  EXPECT_EQ(tree.Blocks(), 2u);
  tree.Set(4);
  EXPECT_EQ(tree.Blocks(), 3u);
  tree.Set(6);
  EXPECT_TRUE(tree.Get(5));
  EXPECT_TRUE(tree.Get(3));
  EXPECT_EQ(tree.Blocks(), 4u);
  for (uint64_t b = 4; b < 1000; ++b) tree.Set(2 * b);
  EXPECT_EQ(tree.Blocks(), 1000u);
}

TEST(CoreMerkleIndex, Truncate) {
  Bitfield bf;
  BitfieldTreeBits bits(&bf);
  MerkleIndex tree(&bits);
  for (uint64_t b = 0; b < 7; ++b) tree.Set(2 * b);
  EXPECT_EQ(tree.Blocks(), 7u);
  tree.Truncate(2 * 5);
  EXPECT_EQ(tree.Blocks(), 5u);
  EXPECT_TRUE(tree.Get(3));
  EXPECT_TRUE(tree.Get(8));
  EXPECT_FALSE(tree.Get(9));
  EXPECT_FALSE(tree.Get(10));
}

TEST(CoreMerkleIndex, ProofOfAFullTree) {
  Bitfield bf;
  BitfieldTreeBits bits(&bf);
  MerkleIndex tree(&bits);
  for (uint64_t b = 0; b < 4; ++b) tree.Set(2 * b);
  auto p = tree.Proof(0, 0, false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes, (std::vector<uint64_t>{2, 5}));
  EXPECT_EQ(p->verified_by, 8u);
  // Five blocks: roots 3 and 8.
  tree.Set(8);
  p = tree.Proof(2, 0, false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes, (std::vector<uint64_t>{0, 5, 8}));
  EXPECT_EQ(p->verified_by, 10u);
  p = tree.Proof(8, 0, true);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->nodes, (std::vector<uint64_t>{8, 3}));
  EXPECT_FALSE(tree.Proof(10, 0, false));
}

TEST(CoreMerkleIndex, DigestAndProofAgree) {
  Bitfield writer_bf;
  BitfieldTreeBits wbits(&writer_bf);
  MerkleIndex writer(&wbits);
  for (uint64_t b = 0; b < 16; ++b) writer.Set(2 * b);
  // A remote that holds block 0..3 (node 3) asks for block 5.
  Bitfield remote_bf;
  BitfieldTreeBits rbits(&remote_bf);
  MerkleIndex remote(&rbits);
  for (uint64_t b = 0; b < 4; ++b) remote.Set(2 * b);
  uint64_t digest = remote.Digest(10);
  EXPECT_NE(digest, 0u);
  auto p = writer.Proof(10, digest, false);
  ASSERT_TRUE(p);
  // The remote trusts uncle 3 but no ancestor of block 5: it still needs the signed root,
  // but not node 3.
  EXPECT_EQ(p->verified_by, 32u);
  EXPECT_EQ(p->nodes, (std::vector<uint64_t>{8, 13, 23}));
  // A remote holding node 9 (blocks 4 and 5's parent) needs nothing but the leaf's sibling.
  remote.Set(8);
  remote.Set(10);
  EXPECT_EQ(remote.Digest(10), 1u);
  EXPECT_EQ(remote.Digest(0), 1u);
}

}  // namespace
}  // namespace hyper::core
