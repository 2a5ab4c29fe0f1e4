#include "src/core/bitfield.h"

#include <gtest/gtest.h>

namespace hyper::core {
namespace {

TEST(CoreBitfield, DataBitsAndTotals) {
  Bitfield bf;
  EXPECT_FALSE(bf.GetData(0));
  EXPECT_TRUE(bf.SetData(0, true));
  EXPECT_FALSE(bf.SetData(0, true));
  EXPECT_TRUE(bf.GetData(0));
  for (uint64_t i = 0; i < 20000; i += 3) bf.SetData(i, true);
  uint64_t expect = 0;
  for (uint64_t i = 0; i < 20000; i += 3) ++expect;
  EXPECT_EQ(bf.Total(0, 20000), expect);
  EXPECT_EQ(bf.Total(1, 3), 0u);
  EXPECT_EQ(bf.Total(0, 4), 2u);
  EXPECT_EQ(bf.Total(5, 5), 0u);
  EXPECT_TRUE(bf.SetData(3, false));
  EXPECT_FALSE(bf.GetData(3));
  EXPECT_EQ(bf.Total(0, 4), 1u);
}

TEST(CoreBitfield, LayoutOfAPage) {
  Bitfield bf;
  bf.SetData(0, true);
  bf.SetData(9, true);
  bf.tree().Set(3, true);
  Bytes page(kBitfieldPageSize);
  bf.CopyPage(0, page);
  EXPECT_EQ(page[0], 0x80);
  EXPECT_EQ(page[1], 0x40);
  EXPECT_EQ(page[kDataSectionSize], 0x10);
  // Index leaf byte 0 summarises data bytes 0..3: both are mixed (01).
  EXPECT_EQ(page[kDataSectionSize + kTreeSectionSize], 0x50);
  // Block 8192 lives on page 1.
  bf.pager().TakeDirty();
  bf.SetData(8192, true);
  auto dirty = bf.pager().TakeDirty();
  ASSERT_FALSE(dirty.empty());
  EXPECT_EQ(dirty[0], 1u);
}

TEST(CoreBitfield, FullBytesSummariseAsOnes) {
  Bitfield bf;
  for (uint64_t i = 0; i < 32; ++i) bf.SetData(i, true);
  EXPECT_EQ(bf.index().GetByte(0), 0xff);
}

TEST(CoreBitfield, LoadRoundTrip) {
  Bitfield a;
  for (uint64_t i = 0; i < 10000; i += 7) a.SetData(i, true);
  for (uint64_t i = 0; i < 300; ++i) a.tree().Set(i, true);
  uint64_t pages = a.pager().length();
  Bytes body(pages * kBitfieldPageSize);
  for (uint64_t p = 0; p < pages; ++p) {
    a.CopyPage(p, MutableByteView(body).subspan(p * kBitfieldPageSize, kBitfieldPageSize));
  }
  Bitfield b;
  b.Load(body);
  for (uint64_t i = 0; i < 10000; ++i) ASSERT_EQ(a.GetData(i), b.GetData(i)) << i;
  for (uint64_t i = 0; i < 400; ++i) ASSERT_EQ(a.tree().Get(i), b.tree().Get(i)) << i;
  EXPECT_EQ(b.tree().length(), pages * kTreeSectionSize * 8);
  // A truncated last page loads zero padded.
  Bitfield c;
  c.Load(ByteView(body).first(kBitfieldPageSize + 5));
  EXPECT_EQ(c.pager().length(), 2u);
  EXPECT_TRUE(c.GetData(0));
}

TEST(CoreBitfield, DataBytes) {
  Bitfield bf;
  for (uint64_t i = 0; i < 11; ++i) bf.SetData(i, true);
  Bytes d = bf.DataBytes(10);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], 0xff);
  EXPECT_EQ(d[1], 0xc0);
}

}  // namespace
}  // namespace hyper::core
