#include "hyper/gateway/range.h"

#include <gtest/gtest.h>

namespace hyper::gateway {
namespace {

using Kind = RangeRequest::Kind;

TEST(RangeTest, SingleRanges) {
  auto r = ParseRange("bytes=0-9", 100);
  EXPECT_EQ(r.kind, Kind::kSatisfiable);
  EXPECT_EQ(r.start, 0u);
  EXPECT_EQ(r.end, 10u);
  r = ParseRange("bytes=90-", 100);
  EXPECT_EQ(r.kind, Kind::kSatisfiable);
  EXPECT_EQ(r.start, 90u);
  EXPECT_EQ(r.end, 100u);
  r = ParseRange("bytes=50-500", 100);  // clamped to the end
  EXPECT_EQ(r.end, 100u);
  r = ParseRange("Bytes= -30", 100);
  EXPECT_EQ(r.kind, Kind::kSatisfiable);
  EXPECT_EQ(r.start, 70u);
  EXPECT_EQ(r.end, 100u);
  r = ParseRange("bytes=-300", 100);  // a suffix longer than the file: all of it
  EXPECT_EQ(r.start, 0u);
  EXPECT_EQ(r.end, 100u);
  r = ParseRange("bytes=99-99", 100);
  EXPECT_EQ(r.start, 99u);
  EXPECT_EQ(r.end, 100u);
}

TEST(RangeTest, Unsatisfiable) {
  EXPECT_EQ(ParseRange("bytes=100-", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=100-200", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 100).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-", 0).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-5", 0).kind, Kind::kUnsatisfiable);
}

TEST(RangeTest, IgnoredWhenMalformedOrSeveral) {
  for (const char* h :
       {"", "bytes", "bytes=", "bytes=-", "items=0-1", "bytes=5-1", "bytes=a-1", "bytes=0-1,3-4",
        "bytes=1", "bytes=99999999999999999999999-", "bytes=18446744073709551616-"}) {
    EXPECT_EQ(ParseRange(h, 100).kind, Kind::kNone) << h;
  }
  // The largest number still parses (and starts past the end).
  EXPECT_EQ(ParseRange("bytes=18446744073709551615-", 100).kind, Kind::kUnsatisfiable);
}

}  // namespace
}  // namespace hyper::gateway
