#include "src/core/block_positions.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace hyper::core {
namespace {

TEST(CoreBlockPositions, RemembersOffsetsSizesAndVerifiedBits) {
  BlockPositions p(uint64_t{1} << 20);
  p.Reserve(5000);
  EXPECT_EQ(p.Offset(0), 0u);  // block 0 always starts at 0
  EXPECT_FALSE(p.Offset(7));
  EXPECT_FALSE(p.Find(7));
  p.SetOffset(7, 700);
  EXPECT_EQ(p.Offset(7), 700u);
  EXPECT_FALSE(p.Find(7));  // no size yet
  p.SetSize(7, 70);
  ASSERT_TRUE(p.Find(7));
  EXPECT_EQ(p.Find(7)->offset, 700u);
  EXPECT_EQ(p.Find(7)->size, 70u);
  EXPECT_FALSE(p.Find(7)->verified);
  // A word is written once: a later, different value is ignored.
  p.SetOffset(7, 701);
  p.SetSize(7, 71);
  EXPECT_EQ(p.Find(7)->offset, 700u);
  EXPECT_EQ(p.Find(7)->size, 70u);
  // Verified only when the word holds exactly the position that was hashed.
  p.SetVerified(7, 701, 70);
  EXPECT_FALSE(p.IsVerified(7));
  p.SetVerified(7, 700, 70);
  EXPECT_TRUE(p.IsVerified(7));
  EXPECT_TRUE(p.Find(7)->verified);
  // Offsets below the page's base (the first recorded), in the same page and in later pages.
  p.SetVerified(3, 100, 5);
  EXPECT_EQ(p.Find(3)->offset, 100u);
  EXPECT_TRUE(p.Find(3)->verified);
  const uint64_t big = uint64_t{1} << 50;
  p.SetVerified(4097, big, 8 * 1024 * 1024);
  p.SetVerified(4096, big - 8 * 1024 * 1024, 8 * 1024 * 1024);
  EXPECT_EQ(p.Find(4096)->offset, big - 8 * 1024 * 1024);
  EXPECT_EQ(p.Find(4097)->offset, big);
  EXPECT_EQ(p.Find(4097)->size, 8u * 1024 * 1024);
  // Sizes that no block can have are not remembered.
  p.SetSize(10, uint64_t{1} << 30);
  p.SetOffset(10, 1000);
  EXPECT_FALSE(p.Find(10));
  p.ClearVerified(0, 5000);
  EXPECT_FALSE(p.IsVerified(7));
  EXPECT_FALSE(p.IsVerified(4097));
  EXPECT_EQ(p.Find(7)->offset, 700u);  // positions stay
}

TEST(CoreBlockPositions, OnlyReservedBlocksAndBoundedMemory) {
  constexpr uint64_t kPage = BlockPositions::kBlocksPerPage;
  BlockPositions p(2 * kPage);  // two pages
  EXPECT_EQ(p.memory_bytes(), 0u);
  p.SetOffset(5, 50);  // nothing reserved yet
  EXPECT_FALSE(p.Offset(5));
  p.Reserve(uint64_t{1} << 22);
  p.SetOffset(5, 50);
  p.SetOffset(kPage + 5, 50000);
  p.SetOffset(2 * kPage + 5, 90000);  // a third page: over the cap
  EXPECT_EQ(p.Offset(5), 50u);
  EXPECT_EQ(p.Offset(kPage + 5), 50000u);
  EXPECT_FALSE(p.Offset(2 * kPage + 5));
  // Two pages, one chunk, the top array.
  EXPECT_LE(p.memory_bytes(), 2 * (8 * kPage + 64) + 8 * BlockPositions::kPagesPerChunk + 8 * 64);
  p.SetVerified(uint64_t{1} << 33, 1, 1);  // beyond kMaxBlocks: ignored
  EXPECT_FALSE(p.IsVerified(uint64_t{1} << 33));
}

TEST(CoreBlockPositions, ConcurrentRecordersAgree) {
  BlockPositions p(uint64_t{1} << 20);
  p.Reserve(100000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&p, t] {
      for (uint64_t i = 0; i < 100000; ++i) {
        uint64_t b = (i * 7919 + static_cast<uint64_t>(t) * 31) % 100000;
        p.SetVerified(b, b * 100, 100);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (uint64_t b = 0; b < 100000; ++b) {
    auto pos = p.Find(b);
    ASSERT_TRUE(pos) << b;
    EXPECT_EQ(pos->offset, b * 100);
    EXPECT_EQ(pos->size, 100u);
    EXPECT_TRUE(pos->verified);
  }
}

}  // namespace
}  // namespace hyper::core
