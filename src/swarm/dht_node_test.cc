#include "hyper/swarm/dht_node.h"

#include <gtest/gtest.h>

#include "src/swarm/sim_network.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using testing::SimNetwork;

DhtNodeOptions Persistent(std::vector<UdpEndpoint> bootstrap = {}) {
  DhtNodeOptions o;
  o.ephemeral = false;
  o.bootstrap = std::move(bootstrap);
  return o;
}

TEST(DhtNode, PingAnswersWithTheAddressItSawAndPersistentNodesJoinTables) {
  SimNetwork net;
  auto& a = net.Add(Persistent());
  auto& b = net.Add(Persistent({a.address}));
  std::optional<Result<UdpEndpoint>> pong;
  b.node->Ping(a.address, [&](Result<UdpEndpoint> r) { pong = std::move(r); });
  ASSERT_TRUE(net.RunUntil([&] { return pong.has_value(); }));
  ASSERT_TRUE(pong->ok()) << pong->status().ToString();
  EXPECT_EQ(**pong, b.address);
  EXPECT_NE(a.node->table().Get(b.node->id()), nullptr);  // b sent its id
  EXPECT_NE(b.node->table().Get(a.node->id()), nullptr);  // a answered with its id
}

TEST(DhtNode, AnEphemeralNodeIsNeverAddedToOthersTables) {
  SimNetwork net;
  auto& a = net.Add(Persistent());
  DhtNodeOptions eph;
  eph.bootstrap = {a.address};
  auto& b = net.Add(eph);
  std::optional<Status> done;
  b.node->Bootstrap([&](Status s) { done = s; });
  ASSERT_TRUE(net.RunUntil([&] { return done.has_value(); }));
  EXPECT_TRUE(done->ok());
  EXPECT_EQ(a.node->table().size(), 0u);
  EXPECT_EQ(b.node->table().size(), 1u);
  EXPECT_TRUE(b.node->ephemeral());
  b.node->SetPersistent();
  b.node->Ping(a.address, [](Result<UdpEndpoint>) {});
  ASSERT_TRUE(net.RunUntil([&] { return a.node->table().size() == 1; }));
}

TEST(DhtNode, FindNodeReturnsTheClosestItKnows) {
  SimNetwork net;
  auto& boot = net.Add(Persistent());
  for (int i = 0; i < 30; ++i) net.Add(Persistent({boot.address}));
  int done = 0;
  for (size_t i = 1; i < net.hosts().size(); ++i) {
    net.hosts()[i]->node->Bootstrap([&](Status) { ++done; });
  }
  ASSERT_TRUE(net.RunUntil([&] { return done == 30; }));
  EXPECT_GE(boot.node->table().size(), 20u);  // a bucket may be full
  NodeId target{};
  target.fill(0x5a);
  std::optional<QueryStats> stats;
  auto& asker = *net.hosts()[5];
  asker.node->RunQuery("_find_node", target, std::nullopt, QueryOptions{}, nullptr,
                       [&](Status s, const QueryStats& st) {
                         EXPECT_TRUE(s.ok());
                         stats = st;
                       });
  ASSERT_TRUE(net.RunUntil([&] { return stats.has_value(); }));
  // The true closest 20 of the other 30 nodes.
  std::vector<NodeId> all;
  for (auto& h : net.hosts()) {
    if (h.get() != &asker) all.push_back(h->node->id());
  }
  std::sort(all.begin(), all.end(),
            [&](const NodeId& x, const NodeId& y) { return Closer(target, x, y); });
  ASSERT_EQ(stats->closest.size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(stats->closest[i].id, all[i]) << i;
}

TEST(DhtNode, AnUpdateWithoutAValidTokenIsDropped) {
  SimNetwork net;
  auto& a = net.Add(Persistent());
  int updates = 0;
  a.node->SetCommand("count", [&](const CommandRequest& r) {
    if (r.type == MessageType::kUpdate) ++updates;
    return CommandReply{};
  });
  Message m;
  m.version = 1;
  m.type = MessageType::kUpdate;
  m.rid = 1;
  m.command = "count";
  m.target = Bytes(32, 1);
  m.roundtrip_token = Bytes(32, 0);  // forged
  net.Inject({"10.9.9.9", 1}, a.address, EncodeMessage(m));
  EXPECT_EQ(updates, 0);
  m.roundtrip_token = a.node->rpc().Token("10.9.9.8");  // another host's token
  net.Inject({"10.9.9.9", 1}, a.address, EncodeMessage(m));
  EXPECT_EQ(updates, 0);
  m.roundtrip_token = a.node->rpc().Token("10.9.9.9");
  net.Inject({"10.9.9.9", 1}, a.address, EncodeMessage(m));
  EXPECT_EQ(updates, 1);
}

TEST(DhtNode, AnUnknownCommandGetsAnErrorAndMalformedDatagramsAreCounted) {
  SimNetwork net;
  auto& a = net.Add(Persistent());
  auto& b = net.Add(Persistent({a.address}));
  std::optional<Status> done;
  size_t replies = 0;
  b.node->RunQuery(
      "nope", NodeId{}, std::nullopt, QueryOptions{}, [&](const QueryReply&) { ++replies; },
      [&](Status s, const QueryStats& st) {
        done = s;
        EXPECT_EQ(st.responses, 1u);
      });
  ASSERT_TRUE(net.RunUntil([&] { return done.has_value(); }));
  EXPECT_EQ(replies, 0u);  // an error is not a reply
  const Bytes junk = {0xff, 0xff, 0xff};
  net.Inject({"10.9.9.9", 1}, a.address, junk);
  EXPECT_EQ(a.node->counters().malformed_in, 1u);
}

TEST(DhtNode, RelaysAHolepunchAsTheReferrer) {
  SimNetwork net;
  auto& referrer = net.Add(Persistent());
  auto& target = net.Add(Persistent());
  // A asks the referrer to pass a holepunch to `target`.
  Message m;
  m.version = 1;
  m.type = MessageType::kQuery;
  m.rid = 77;
  m.command = "_holepunch";
  m.value = EncodeHolepunch({std::nullopt, EncodePeer(target.address).value()});
  const UdpEndpoint asker{"10.9.9.9", 4242};
  net.Inject(asker, referrer.address, EncodeMessage(m));
  // The relayed message reaches target, which answers the asker directly.
  ASSERT_TRUE(net.RunUntil([&] { return net.bytes_to().count(asker.ToString()) != 0; }));
  EXPECT_GT(net.bytes_to()[target.address.ToString()], 0u);
  // A holepunch to itself is not relayed.
  const uint64_t before = net.sent();
  m.value = EncodeHolepunch({std::nullopt, EncodePeer(asker).value()});
  net.Inject(asker, referrer.address, EncodeMessage(m));
  EXPECT_EQ(net.sent(), before);
}

TEST(DhtNode, AFullBucketReplacesANodeThatNoLongerAnswers) {
  SimNetwork net;
  NodeId local{};
  local.fill(0);
  DhtNodeOptions o = Persistent();
  o.id = local;
  auto& me = net.Add(o);
  std::optional<Status> boot;
  me.node->Bootstrap([&](Status s) { boot = s; });  // no bootstrap nodes: ready at once
  ASSERT_TRUE(net.RunUntil([&] { return boot.has_value(); }));
  // 21 nodes whose ids all fall in bucket 0 (first bit 1).
  std::vector<SimNetwork::Host*> far;
  for (int i = 0; i < 21; ++i) {
    DhtNodeOptions fo = Persistent();
    NodeId id{};
    id.fill(static_cast<uint8_t>(0x80 + i));
    fo.id = id;
    far.push_back(&net.Add(fo));
  }
  for (int i = 0; i < 20; ++i) far[i]->node->Ping(me.address, [](Result<UdpEndpoint>) {});
  ASSERT_TRUE(net.RunUntil([&] { return me.node->table().size() == 20; }));
  far[0]->dead = true;  // the oldest goes away
  far[20]->node->Ping(me.address, [](Result<UdpEndpoint>) {});
  // Me pings the oldest, which times out (7.5 s), and the newcomer takes its place.
  ASSERT_TRUE(
      net.RunUntil([&] { return me.node->table().Get(far[20]->node->id()) != nullptr; }, 20s));
  EXPECT_EQ(me.node->table().Get(far[0]->node->id()), nullptr);
  EXPECT_EQ(me.node->table().size(), 20u);
}

}  // namespace
}  // namespace hyper::swarm
