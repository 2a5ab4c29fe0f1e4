#include "src/core/flat_tree.h"

#include <gtest/gtest.h>

namespace hyper::core::flat {
namespace {

TEST(CoreFlatTree, Basics) {
  EXPECT_EQ(Index(0, 0), 0u);
  EXPECT_EQ(Index(0, 1), 2u);
  EXPECT_EQ(Index(1, 0), 1u);
  EXPECT_EQ(Index(1, 1), 5u);
  EXPECT_EQ(Index(2, 0), 3u);
  EXPECT_EQ(Depth(0), 0u);
  EXPECT_EQ(Depth(1), 1u);
  EXPECT_EQ(Depth(7), 3u);
  EXPECT_EQ(Depth(11), 2u);
  EXPECT_EQ(Offset(9), 2u);
  EXPECT_EQ(Offset(11), 1u);
  EXPECT_EQ(Parent(0), 1u);
  EXPECT_EQ(Parent(2), 1u);
  EXPECT_EQ(Parent(1), 3u);
  EXPECT_EQ(Parent(5), 3u);
  EXPECT_EQ(Parent(3), 7u);
  EXPECT_EQ(Sibling(0), 2u);
  EXPECT_EQ(Sibling(2), 0u);
  EXPECT_EQ(Sibling(1), 5u);
  EXPECT_EQ(Sibling(5), 1u);
  EXPECT_EQ(LeftChild(3), 1u);
  EXPECT_EQ(RightChild(3), 5u);
  EXPECT_EQ(LeftChild(1), 0u);
  EXPECT_EQ(RightChild(1), 2u);
  EXPECT_EQ(LeftSpan(3), 0u);
  EXPECT_EQ(RightSpan(3), 6u);
  EXPECT_EQ(LeftSpan(11), 8u);
  EXPECT_EQ(RightSpan(11), 14u);
  EXPECT_EQ(RightSpan(4), 4u);
  EXPECT_EQ(Count(3), 7u);
  EXPECT_EQ(Count(4), 1u);
}

TEST(CoreFlatTree, FullRoots) {
  EXPECT_EQ(FullRoots(0), std::vector<uint64_t>{});
  EXPECT_EQ(FullRoots(2), std::vector<uint64_t>{0});
  EXPECT_EQ(FullRoots(6), (std::vector<uint64_t>{1, 4}));
  EXPECT_EQ(FullRoots(8), std::vector<uint64_t>{3});
  EXPECT_EQ(FullRoots(10), (std::vector<uint64_t>{3, 8}));
  EXPECT_EQ(FullRoots(16), (std::vector<uint64_t>{7}));
  EXPECT_EQ(FullRoots(30), (std::vector<uint64_t>{7, 19, 25, 28}));
}

TEST(CoreFlatTree, LargeIndexesDoNotOverflow) {
  uint64_t big = Index(40, 3);
  EXPECT_EQ(Depth(big), 40u);
  EXPECT_EQ(Offset(big), 3u);
  EXPECT_EQ(Parent(big), Index(41, 1));
  EXPECT_EQ(Sibling(big), Index(40, 2));
}

TEST(CoreFlatTree, IteratorWalks) {
  Iterator it(0);
  EXPECT_TRUE(it.IsLeft());
  EXPECT_EQ(it.Parent(), 1u);
  EXPECT_EQ(it.Parent(), 3u);
  EXPECT_EQ(it.Sibling(), 11u);
  EXPECT_TRUE(it.IsRight());
  EXPECT_EQ(it.LeftChild(), 9u);
  EXPECT_EQ(it.RightChild(), 10u);
  EXPECT_EQ(it.RightChild(), 10u);  // a leaf has no children
  it.Seek(5);
  EXPECT_EQ(it.factor(), 4u);
  EXPECT_EQ(it.Prev(), 1u);
  EXPECT_EQ(it.Prev(), 1u);
  EXPECT_EQ(it.Next(), 5u);
  // The iterator agrees with the free functions everywhere.
  for (uint64_t i = 0; i < 2000; ++i) {
    Iterator a(i);
    uint64_t p = a.Parent();
    EXPECT_EQ(p, Parent(i));
    Iterator b(i);
    EXPECT_EQ(b.Sibling(), Sibling(i));
    Iterator c(p);
    EXPECT_EQ(c.PeekLeftSpan(), LeftSpan(p));
    EXPECT_EQ(c.PeekRightSpan(), RightSpan(p));
  }
}

}  // namespace
}  // namespace hyper::core::flat
