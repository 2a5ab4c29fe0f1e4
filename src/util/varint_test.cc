#include "hyper/util/varint.h"

#include <gtest/gtest.h>

namespace hyper {
namespace {

TEST(Varint, KnownEncodings) {
  Bytes out;
  AppendVarint(out, 300);
  EXPECT_EQ(out, (Bytes{0xac, 0x02}));
  out.clear();
  AppendVarint(out, UINT64_MAX);
  EXPECT_EQ(out.size(), 10u);
  EXPECT_EQ(out.back(), 0x01);
}

TEST(Varint, RoundTripBoundaries) {
  for (uint64_t v : std::initializer_list<uint64_t>{0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, (1ull << 35) + 5,
                     (1ull << 63), UINT64_MAX}) {
    Bytes out;
    AppendVarint(out, v);
    EXPECT_EQ(out.size(), VarintLength(v));
    size_t n = 0;
    auto r = DecodeVarint(out, &n);
    ASSERT_TRUE(r.ok()) << v;
    EXPECT_EQ(*r, v);
    EXPECT_EQ(n, out.size());
  }
}

TEST(Varint, RejectsBadInput) {
  size_t n = 0;
  EXPECT_EQ(DecodeVarint(Bytes{}, &n).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeVarint(Bytes{0x80, 0x80}, &n).status().code(), Code::kCorruption);
  Bytes eleven(11, 0x80);
  EXPECT_EQ(DecodeVarint(eleven, &n).status().code(), Code::kCorruption);
  Bytes overflow(9, 0xff);
  overflow.push_back(0x02);  // bit 64 set
  EXPECT_EQ(DecodeVarint(overflow, &n).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace hyper
