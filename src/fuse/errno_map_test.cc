#include "errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace hyper::fuse {
namespace {

TEST(ErrnoMapTest, TheDrivesCodesAreThePosixOnes) {
  EXPECT_EQ(ErrnoOf(Status::Ok()), 0);
  EXPECT_EQ(ErrnoOf(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoOf(Status::Exists("x")), EEXIST);
  EXPECT_EQ(ErrnoOf(Status::NotADirectory("x")), ENOTDIR);
  EXPECT_EQ(ErrnoOf(Status::IsADirectory("x")), EISDIR);
  EXPECT_EQ(ErrnoOf(Status::NotEmpty("x")), ENOTEMPTY);
  EXPECT_EQ(ErrnoOf(Status::InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoOf(Status::NotWritable("x")), EROFS);
  EXPECT_EQ(ErrnoOf(Status::NoSpace("x")), ENOSPC);
  EXPECT_EQ(ErrnoOf(Status::Loop("x")), ELOOP);
  EXPECT_EQ(ErrnoOf(Status::Busy("x")), EBUSY);
  EXPECT_EQ(ErrnoOf(Status::PermissionDenied("x")), EACCES);
  EXPECT_EQ(ErrnoOf(Status::Unsupported("x")), ENOTSUP);
}

TEST(ErrnoMapTest, FailuresToGetBytesAreEioNeverEbadf) {
  // A block no peer sent in time, or one not downloaded here, on a file that exists.
  EXPECT_EQ(ErrnoOf(Status::Timeout("x"), Call::kRead), EIO);
  EXPECT_EQ(ErrnoOf(Status::NotFound("not downloaded here"), Call::kRead), EIO);
  EXPECT_EQ(ErrnoOf(Status::Corruption("x"), Call::kRead), EIO);
  EXPECT_EQ(ErrnoOf(Status::InvalidSignature("x")), EIO);
  EXPECT_EQ(ErrnoOf(Status::Cancelled("x")), EIO);
  EXPECT_EQ(ErrnoOf(Status::Timeout("x")), EIO);
}

TEST(ErrnoMapTest, ARenameAcrossDrivesIsExdevSoMvCopies) {
  EXPECT_EQ(ErrnoOf(Status::Unsupported("across drives"), Call::kRename), EXDEV);
  EXPECT_EQ(ErrnoOf(Status::NotFound("x"), Call::kRename), ENOENT);
  EXPECT_EQ(ErrnoOf(Status::NotEmpty("x"), Call::kRename), ENOTEMPTY);
}

}  // namespace
}  // namespace hyper::fuse
