#include "hyper/swarm/routing_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace hyper::swarm {
namespace {

NodeId IdWithPrefix(const NodeId& local, size_t shared_bits, uint32_t salt) {
  // An id sharing exactly `shared_bits` leading bits with local.
  NodeId id = local;
  std::mt19937 rng(salt);
  for (size_t bit = shared_bits + 1; bit < 256; ++bit) {
    if (rng() & 1) id[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
  }
  id[shared_bits / 8] ^= static_cast<uint8_t>(0x80 >> (shared_bits % 8));
  return id;
}

RoutingEntry Entry(const NodeId& id, uint64_t seen) {
  RoutingEntry e;
  e.node = {id, {"127.0.0.2", static_cast<uint16_t>(1000 + seen)}};
  e.last_seen = seen;
  return e;
}

TEST(RoutingTable, ABucketHoldsKNodesThenNamesTheOldestToPing) {
  NodeId local{};
  local.fill(0x11);
  RoutingTable table(local);
  for (uint32_t i = 0; i < kBucketSize; ++i) {
    EXPECT_EQ(table.Add(Entry(IdWithPrefix(local, 0, i), i)), RoutingTable::AddResult::kAdded);
  }
  std::vector<RoutingEntry> to_ping;
  const NodeId newcomer = IdWithPrefix(local, 0, 999);
  EXPECT_EQ(table.Add(Entry(newcomer, 100), &to_ping), RoutingTable::AddResult::kFull);
  ASSERT_EQ(to_ping.size(), kNodesToPing);
  EXPECT_EQ(to_ping[0].node.id, IdWithPrefix(local, 0, 0));  // the least recently heard from
  EXPECT_EQ(table.Get(newcomer), nullptr);
  // Hearing from the oldest again moves it to the recent end.
  EXPECT_EQ(table.Add(Entry(IdWithPrefix(local, 0, 0), 101)), RoutingTable::AddResult::kUpdated);
  table.Add(Entry(newcomer, 102), &to_ping);
  EXPECT_EQ(to_ping[0].node.id, IdWithPrefix(local, 0, 1));
  // Another bucket still has room.
  EXPECT_EQ(table.Add(Entry(IdWithPrefix(local, 7, 1), 103)), RoutingTable::AddResult::kAdded);
  EXPECT_EQ(table.Add(Entry(local, 104)), RoutingTable::AddResult::kSelf);
  EXPECT_EQ(table.size(), kBucketSize + 1);
  EXPECT_TRUE(table.Remove(IdWithPrefix(local, 0, 5)));
  EXPECT_FALSE(table.Remove(IdWithPrefix(local, 0, 5)));
  EXPECT_EQ(table.Add(Entry(newcomer, 105)), RoutingTable::AddResult::kAdded);
}

TEST(RoutingTable, ClosestIsByXorDistanceAndMatchesABruteForceSort) {
  std::mt19937 rng(7);
  NodeId local{};
  for (auto& b : local) b = static_cast<uint8_t>(rng());
  RoutingTable table(local);
  std::vector<NodeId> kept;
  for (int i = 0; i < 2000; ++i) {
    NodeId id{};
    for (auto& b : id) b = static_cast<uint8_t>(rng());
    if (table.Add(Entry(id, static_cast<uint64_t>(i))) == RoutingTable::AddResult::kAdded) {
      kept.push_back(id);
    }
  }
  EXPECT_EQ(table.size(), kept.size());
  NodeId target{};
  for (auto& b : target) b = static_cast<uint8_t>(rng());
  std::sort(kept.begin(), kept.end(),
            [&](const NodeId& a, const NodeId& b) { return Closer(target, a, b); });
  auto closest = table.Closest(target, 20);
  ASSERT_EQ(closest.size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(closest[i].node.id, kept[i]);
}

TEST(RoutingTable, PrefixAndDistanceHelpers) {
  NodeId a{};
  NodeId b{};
  EXPECT_EQ(CommonPrefixBits(a, b), 256u);
  b[1] = 0x10;
  EXPECT_EQ(CommonPrefixBits(a, b), 11u);
  NodeId t{};
  NodeId c{};
  c[31] = 1;
  EXPECT_TRUE(Closer(t, c, b));
  EXPECT_FALSE(Closer(t, b, c));
  EXPECT_FALSE(Closer(t, b, b));
}

}  // namespace
}  // namespace hyper::swarm
