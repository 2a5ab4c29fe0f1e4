#include "paths.h"

#include <gtest/gtest.h>

namespace hyper::fuse {
namespace {

TEST(PathsTest, ParentAndName) {
  EXPECT_EQ(ParentOf("/a/b/c"), "/a/b");
  EXPECT_EQ(ParentOf("/a"), "/");
  EXPECT_EQ(ParentOf("/"), "/");
  EXPECT_EQ(NameOf("/a/b/c"), "c");
  EXPECT_EQ(NameOf("/a"), "a");
  EXPECT_EQ(NameOf("/"), "");
}

TEST(PathsTest, AtOrBelowComparesWholeNames) {
  EXPECT_TRUE(IsAtOrBelow("/a", "/a"));
  EXPECT_TRUE(IsAtOrBelow("/a/b", "/a"));
  EXPECT_FALSE(IsAtOrBelow("/ab", "/a"));
  EXPECT_FALSE(IsAtOrBelow("/", "/a"));
  EXPECT_TRUE(IsAtOrBelow("/x/y", "/"));
  EXPECT_TRUE(IsAtOrBelow("/", "/"));
}

TEST(PathsTest, RebaseMovesTheRest) {
  EXPECT_EQ(Rebase("/a", "/a", "/b"), "/b");
  EXPECT_EQ(Rebase("/a/x/y", "/a", "/b/c"), "/b/c/x/y");
  EXPECT_EQ(Rebase("/a/x", "/a", "/"), "/x");
}

}  // namespace
}  // namespace hyper::fuse
