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

// The Status-free decoder accepts exactly what DecodeVarint accepts, with the same value and
// length, and leaves the cursor alone on bad input.
TEST(Varint, PointerDecoderAgrees) {
  std::vector<Bytes> inputs = {{}, {0x80, 0x80}, Bytes(11, 0x80), {0x05}, {0xac, 0x02, 0x07}};
  Bytes overflow(9, 0xff);
  overflow.push_back(0x02);
  inputs.push_back(overflow);
  for (uint64_t v :
       std::initializer_list<uint64_t>{0, 127, 128, 300, 16383, 16384, (1ull << 21) - 1, 1ull << 21,
                                       (1ull << 42) + 3, UINT64_MAX}) {
    Bytes b;
    AppendVarint(b, v);
    inputs.push_back(b);
    Bytes followed = b;  // with bytes after it (the inline path reads up to three)
    followed.insert(followed.end(), {0x81, 0x01, 0x00});
    inputs.push_back(followed);
    b.pop_back();  // truncated
    inputs.push_back(b);
  }
  for (const Bytes& in : inputs) {
    size_t n = 0;
    auto want = DecodeVarint(in, &n);
    const uint8_t* p = in.data();
    uint64_t got = 0;
    bool ok = DecodeVarint(&p, in.data() + in.size(), &got);
    ASSERT_EQ(ok, want.ok()) << ToHex(in);
    if (ok) {
      EXPECT_EQ(got, *want);
      EXPECT_EQ(static_cast<size_t>(p - in.data()), n);
    } else {
      EXPECT_EQ(p, in.data());
    }
  }
}

}  // namespace
}  // namespace hyper
