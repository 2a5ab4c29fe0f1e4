#include "hyper/swarm/peer_store.h"

#include <gtest/gtest.h>

#include <set>

#include "hyper/runtime/virtual_clock.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;

Bytes Record(uint32_t i) {
  return {10,
          static_cast<uint8_t>(i >> 16),
          static_cast<uint8_t>(i >> 8),
          static_cast<uint8_t>(i),
          0x1f,
          0x90};
}

// 65,536 records under one key (the reference's whole store): each add is indexed, so this
// runs in well under a second; a linear scan per add would make it 2^31 comparisons. Every
// record is kept, a re-announce is counted once, and removal finds any record.
TEST(PeerStore, SixtyFiveThousandRecordsUnderOneKey) {
  runtime::VirtualClock clock;
  PeerStore store(clock, PeerStoreLimits{65536, 65536});
  for (uint32_t i = 0; i < 65536; ++i) ASSERT_TRUE(store.Add("t", Record(i)));
  EXPECT_EQ(store.size(), 65536u);
  EXPECT_FALSE(store.Add("t", Record(70000)));                                     // full
  for (uint32_t i = 0; i < 65536; i += 7) ASSERT_TRUE(store.Add("t", Record(i)));  // refresh
  EXPECT_EQ(store.size(), 65536u);
  for (uint32_t i = 0; i < 65536; i += 2) store.Remove("t", Record(i));
  EXPECT_EQ(store.size(), 32768u);
  // What is left is exactly the odd records: asking for more than there are returns all.
  auto all = store.Get("t", 100000, {});
  ASSERT_EQ(all.size(), 32768u);
  std::set<Bytes> distinct(all.begin(), all.end());
  EXPECT_EQ(distinct.size(), 32768u);
  for (uint32_t i = 1; i < 65536; i += 2) ASSERT_TRUE(distinct.count(Record(i))) << i;
  for (uint32_t i = 1; i < 65536; i += 2) store.Remove("t", Record(i));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_TRUE(store.Get("t", 10, {}).empty());
}

// A lookup's answer: at most n distinct records of the key, never `except`, and a sample (over
// many lookups every record shows up; no record is always or never chosen).
TEST(PeerStore, AnswersAreDistinctSamplesWithinTheLimit) {
  runtime::VirtualClock clock;
  PeerStore store(clock);
  constexpr uint32_t kRecords = 1000;
  for (uint32_t i = 0; i < kRecords; ++i) ASSERT_TRUE(store.Add("t", Record(i)));
  ASSERT_TRUE(store.Add("other", Record(5000)));
  std::vector<int> seen(kRecords, 0);
  constexpr int kLookups = 400;
  for (int l = 0; l < kLookups; ++l) {
    auto got = store.Get("t", 20, Record(3));
    ASSERT_EQ(got.size(), 20u);
    std::set<Bytes> distinct(got.begin(), got.end());
    ASSERT_EQ(distinct.size(), 20u);
    for (const auto& r : got) {
      ASSERT_NE(r, Record(3));
      const uint32_t i = (r[1] << 16) | (r[2] << 8) | r[3];
      ASSERT_LT(i, kRecords);
      ++seen[i];
    }
  }
  // Each record but `except` is expected 400 * 20 / 999 = 8 times.
  EXPECT_EQ(seen[3], 0);
  int never = 0;
  int most = 0;
  for (uint32_t i = 0; i < kRecords; ++i) {
    if (i != 3 && seen[i] == 0) ++never;
    most = std::max(most, seen[i]);
  }
  EXPECT_LT(never, 5);  // P(a record never chosen) = (1 - 20/999)^400, about 0.0003
  EXPECT_LT(most, 40);
  // Fewer records than asked: all of them, but never `except`.
  auto few = store.Get("other", 20, {});
  EXPECT_EQ(few, std::vector<Bytes>{Record(5000)});
  EXPECT_TRUE(store.Get("other", 20, Record(5000)).empty());
  EXPECT_TRUE(store.Get("t", 0, {}).empty());
}

// The generations still expire records, across both generations of one key, and a record
// refreshed in the older generation moves to the current one.
TEST(PeerStore, RotationExpiresRecordsOfBothGenerations) {
  runtime::VirtualClock clock;
  PeerStore store(clock);
  for (uint32_t i = 0; i < 100; ++i) ASSERT_TRUE(store.Add("t", Record(i), "10.0.0.1"));
  clock.Advance(8min);  // rotation: the 100 are now the older generation
  for (uint32_t i = 100; i < 150; ++i) ASSERT_TRUE(store.Add("t", Record(i), "10.0.0.2"));
  ASSERT_TRUE(store.Add("t", Record(0), "10.0.0.1"));  // refreshed
  EXPECT_EQ(store.size(), 150u);
  EXPECT_EQ(store.Get("t", 1000, {}).size(), 150u);
  clock.Advance(8min);  // the older 99 are dropped
  EXPECT_EQ(store.size(), 51u);
  auto left = store.Get("t", 1000, {});
  std::set<Bytes> distinct(left.begin(), left.end());
  EXPECT_EQ(distinct.size(), 51u);
  EXPECT_TRUE(distinct.count(Record(0)));
  EXPECT_FALSE(distinct.count(Record(1)));
  EXPECT_EQ(store.from_source("10.0.0.1"), 1u);
  EXPECT_EQ(store.from_source("10.0.0.2"), 50u);
  clock.Advance(16min);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.from_source("10.0.0.1"), 0u);
  EXPECT_TRUE(store.Get("t", 1000, {}).empty());
}

// One source address holds at most max_per_source records, whatever the keys; others can still
// announce, a refresh at the cap is kept, and the count falls when records go.
TEST(PeerStore, OneSourceCannotFillTheStore) {
  runtime::VirtualClock clock;
  PeerStore store(clock, PeerStoreLimits{1000, 10});
  for (uint32_t i = 0; i < 50; ++i) {
    EXPECT_EQ(store.Add("k" + std::to_string(i % 3), Record(i), "10.0.0.9"), i < 10) << i;
  }
  EXPECT_EQ(store.size(), 10u);
  EXPECT_EQ(store.from_source("10.0.0.9"), 10u);
  EXPECT_TRUE(store.Add("k0", Record(0), "10.0.0.9"));  // a refresh at the cap
  EXPECT_EQ(store.from_source("10.0.0.9"), 10u);
  EXPECT_TRUE(store.Add("k0", Record(100), "10.0.0.8"));
  store.Remove("k1", Record(1));
  EXPECT_EQ(store.from_source("10.0.0.9"), 9u);
  EXPECT_TRUE(store.Add("k1", Record(60), "10.0.0.9"));
  EXPECT_FALSE(store.Add("k1", Record(61), "10.0.0.9"));
  EXPECT_EQ(store.size(), 11u);
}

}  // namespace
}  // namespace hyper::swarm
