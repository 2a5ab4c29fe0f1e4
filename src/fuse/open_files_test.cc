#include "open_files.h"

#include <gtest/gtest.h>

namespace hyper::fuse {
namespace {

std::shared_ptr<OpenFile> New() { return std::make_shared<OpenFile>(); }

TEST(OpenFilesTest, HandlesOnOnePathShareOneFileUntilTheLastGoes) {
  OpenFiles files;
  auto a = files.Acquire("/f", New);
  auto b = files.Acquire("/f", New);
  EXPECT_EQ(a, b);
  files.Release(a);
  EXPECT_EQ(files.Find("/f"), b);
  files.Release(b);
  EXPECT_EQ(files.Find("/f"), nullptr);
}

TEST(OpenFilesTest, ARenameMovesEverythingBelowItsSource) {
  OpenFiles files;
  auto x = files.Acquire("/d/x", New);
  auto y = files.Acquire("/d/sub/y", New);
  auto other = files.Acquire("/dd", New);
  files.Move("/d", "/e");
  EXPECT_EQ(files.PathOf(x.get()), "/e/x");
  EXPECT_EQ(files.PathOf(y.get()), "/e/sub/y");
  EXPECT_EQ(files.PathOf(other.get()), "/dd");
  EXPECT_EQ(files.Find("/e/x"), x);
  EXPECT_EQ(files.Find("/d/x"), nullptr);
  ASSERT_EQ(files.ChildrenOf("/e").size(), 1u);
  EXPECT_EQ(files.ChildrenOf("/e")[0].first, "x");
  EXPECT_EQ(files.AtOrBelow("/e").size(), 2u);
}

TEST(OpenFilesTest, AForgottenFileHasNoPathAndANewOneTakesItsPlace) {
  OpenFiles files;
  auto old = files.Acquire("/f", New);
  files.Forget("/f");
  EXPECT_EQ(files.PathOf(old.get()), std::nullopt);
  auto fresh = files.Acquire("/f", New);
  EXPECT_NE(fresh, old);
  files.Release(old);  // the old handle's release does not touch the new file
  EXPECT_EQ(files.Find("/f"), fresh);
}

}  // namespace
}  // namespace hyper::fuse
