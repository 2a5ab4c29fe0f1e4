// Hundreds of DHT nodes in one process on virtual time: queries converge on the true closest
// nodes, and announces are found with a tenth of the nodes dead. Prints messages per lookup.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "hyper/swarm/peers.h"
#include "src/swarm/sim_network.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using testing::SimNetwork;

// `n` persistent nodes joining one after another through the first (as a real network grows),
// then each refreshes once, as the reference's background bootstrap does.
void Grow(SimNetwork& net, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  DhtNodeOptions o;
  o.ephemeral = false;
  NodeId id{};
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  o.id = id;
  auto& boot = net.Add(o);
  o.bootstrap = {boot.address};
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < n; ++i) {
      if (round == 0 && i > 0) {
        for (auto& b : id) b = static_cast<uint8_t>(rng());
        o.id = id;
        net.Add(o);
      }
      bool done = false;
      net.hosts()[i]->node->Bootstrap([&](Status) { done = true; });
      ASSERT_TRUE(net.RunUntil([&] { return done; }));
    }
  }
}

TEST(DhtSimulation, QueriesConvergeOnTheClosestNodesOfThreeHundred) {
  SimNetwork net;
  Grow(net, 300, 1);
  std::mt19937 rng(2);
  size_t requests = 0;
  const int kQueries = 20;
  for (int q = 0; q < kQueries; ++q) {
    NodeId target{};
    for (auto& b : target) b = static_cast<uint8_t>(rng());
    auto& asker = *net.hosts()[rng() % net.hosts().size()];
    std::optional<QueryStats> stats;
    asker.node->RunQuery("_find_node", target, std::nullopt, QueryOptions{}, nullptr,
                         [&](Status s, const QueryStats& st) {
                           EXPECT_TRUE(s.ok());
                           stats = st;
                         });
    ASSERT_TRUE(net.RunUntil([&] { return stats.has_value(); }));
    std::vector<NodeId> all;
    for (auto& h : net.hosts()) {
      if (h.get() != &asker) all.push_back(h->node->id());
    }
    std::partial_sort(all.begin(), all.begin() + 20, all.end(),
                      [&](const NodeId& x, const NodeId& y) { return Closer(target, x, y); });
    ASSERT_EQ(stats->closest.size(), 20u);
    // The closest few are found exactly; the 20 found overlap the true 20 almost fully.
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(stats->closest[i].id, all[i]) << "query " << q;
    size_t overlap = 0;
    for (const auto& n : stats->closest) {
      overlap += std::find(all.begin(), all.begin() + 20, n.id) != all.begin() + 20;
    }
    EXPECT_GE(overlap, 18u) << "query " << q;
    requests += stats->requests;
  }
  std::printf("300 nodes: %.1f requests per _find_node query\n",
              static_cast<double>(requests) / kQueries);
}

TEST(DhtSimulation, LookupsFindAnnouncesWithATenthOfTheNodesDead) {
  SimNetwork net;
  Grow(net, 200, 3);
  std::mt19937 rng(4);
  // Announce 50 topics from random live nodes, then kill 10 % of the others.
  std::vector<std::pair<NodeId, SimNetwork::Host*>> topics;
  for (int t = 0; t < 50; ++t) {
    NodeId topic{};
    for (auto& b : topic) b = static_cast<uint8_t>(rng());
    auto* host = net.hosts()[1 + rng() % 199].get();
    bool done = false;
    Announce(*host->node, topic, {}, nullptr, [&](Status s, const QueryStats&) {
      EXPECT_TRUE(s.ok());
      done = true;
    });
    ASSERT_TRUE(net.RunUntil([&] { return done; }));
    topics.emplace_back(topic, host);
  }
  size_t killed = 0;
  while (killed < 20) {
    auto* h = net.hosts()[1 + rng() % 199].get();
    bool announcer = false;
    for (auto& [t, a] : topics) announcer |= a == h;
    if (h->dead || announcer) continue;
    h->dead = true;
    ++killed;
  }
  size_t found = 0;
  size_t lookups = 0;
  size_t requests = 0;
  size_t hops = 0;
  uint32_t max_hops = 0;
  const auto start = net.clock().Now();
  for (int round = 0; round < 4; ++round) {
    for (auto& [topic, announcer] : topics) {
      SimNetwork::Host* seeker = nullptr;
      while (!seeker || seeker->dead || seeker == announcer) {
        seeker = net.hosts()[rng() % 200].get();
      }
      bool done = false;
      bool hit = false;
      SimNetwork::Host* a = announcer;
      Lookup(
          *seeker->node, topic, {},
          [&](const PeersFound& f) {
            hit |= std::find(f.peers.begin(), f.peers.end(), a->address) != f.peers.end();
          },
          [&](Status, const QueryStats& st) {
            requests += st.requests;
            hops += st.hops;
            max_hops = std::max(max_hops, st.max_hops);
            done = true;
          });
      ASSERT_TRUE(net.RunUntil([&] { return done; }));
      ++lookups;
      found += hit;
    }
  }
  const double rate = static_cast<double>(found) / static_cast<double>(lookups);
  std::printf(
      "200 nodes, 20 dead: %zu of %zu lookups found the announce (%.1f %%), "
      "%.1f requests (messages sent) per lookup, %.2f hops to the closest node per lookup "
      "(at most %u to any), %.2f s of virtual time per lookup\n",
      found, lookups, 100 * rate, static_cast<double>(requests) / lookups,
      static_cast<double>(hops) / lookups, max_hops,
      std::chrono::duration<double>(net.clock().Now() - start).count() / lookups);
  ::testing::Test::RecordProperty("lookup_success_percent", std::to_string(100 * rate));
  ::testing::Test::RecordProperty("requests_per_lookup",
                                  std::to_string(static_cast<double>(requests) / lookups));
  ::testing::Test::RecordProperty("hops_per_lookup",
                                  std::to_string(static_cast<double>(hops) / lookups));
  EXPECT_GE(hops, lookups);  // every lookup reached some node
  EXPECT_GE(rate, 0.99);
}

}  // namespace
}  // namespace hyper::swarm
