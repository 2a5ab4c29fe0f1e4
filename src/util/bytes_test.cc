#include "hyper/util/bytes.h"

#include <gtest/gtest.h>

namespace hyper {
namespace {

TEST(Hex, RoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(ToHex(b), "0001abff");
  EXPECT_EQ(*FromHex("0001ABff"), b);
  EXPECT_EQ(FromHex("abc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FromHex("zz").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(FromHex("")->empty());
}

TEST(BigEndian, Widths) {
  uint8_t buf[8];
  PutUint64BE(buf, 0x0102030405060708ull);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[7], 8);
  EXPECT_EQ(GetUint64BE(buf), 0x0102030405060708ull);
  PutUint32BE(buf, 0xdeadbeef);
  EXPECT_EQ(buf[0], 0xde);
  EXPECT_EQ(GetUint32BE(buf), 0xdeadbeefu);
  PutUint16BE(buf, 0x1234);
  EXPECT_EQ(GetUint16BE(buf), 0x1234);
}

TEST(StrongIndex, DistinctAndOrdered) {
  BlockIndex a(3), b(4);
  EXPECT_LT(a, b);
  EXPECT_EQ(a.next(), b);
  EXPECT_EQ(LeafOf(b).value, 8u);
  static_assert(!std::is_convertible_v<BlockIndex, TreeIndex>);
  static_assert(!std::is_convertible_v<uint64_t, BlockIndex>);
}

}  // namespace
}  // namespace hyper
