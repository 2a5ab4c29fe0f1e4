#include "hyper/util/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace hyper {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::NotFound("/a");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: /a");
  EXPECT_EQ(s.Annotate("stat").ToString(), "NotFound: stat: /a");
  EXPECT_TRUE(Status::Ok().Annotate("x").ok());
}

TEST(Status, Errno) {
  EXPECT_EQ(ToErrno(Code::kNotFound), ENOENT);
  EXPECT_EQ(ToErrno(Code::kNotEmpty), ENOTEMPTY);
  EXPECT_EQ(ToErrno(Code::kNotWritable), EROFS);
  EXPECT_EQ(ToErrno(Code::kLoop), ELOOP);
  EXPECT_EQ(Status::FromErrno(ENOSPC, "write").code(), Code::kNoSpace);
  EXPECT_EQ(Status::FromErrno(EIO, "write").code(), Code::kIOError);
}

TEST(Result, ValueAndPropagation) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(Result, MoveOnlyAndCopy) {
  Result<std::unique_ptr<int>> p = std::make_unique<int>(7);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> owned = std::move(p).value();
  EXPECT_EQ(*owned, 7);
  Result<std::string> a = std::string("hello");
  Result<std::string> b = a;
  EXPECT_EQ(*b, "hello");
  b = Status::Timeout("late");
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(*a, "hello");
}

}  // namespace
}  // namespace hyper
