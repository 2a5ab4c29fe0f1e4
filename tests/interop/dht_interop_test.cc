// The DHT against Node's @hyperswarm/dht 4.0.1 / dht-rpc 4.9.6 (tests/interop/scripts/
// dht_peer.js), over real UDP on loopback: Node on 127.0.0.2, ours on 127.0.0.1, every node
// given explicit bootstrap addresses. Our nodes run on a runtime loop of the test's own.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "hyper/runtime/asio_udp_socket_factory.h"
#include "hyper/runtime/event_loop.h"
#include "hyper/swarm/message.h"
#include "hyper/swarm/peers.h"
#include "hyper/swarm/peers_message.h"
#include "hyper/swarm/udp_dht.h"
#include "tests/support/node_harness.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(DhtInterop, OurCodecReadsAndWritesTheReferenceBytes) {
  auto golden = hyper::testing::RunNode("dht_peer", {json{{"mode", "messages"}}.dump()});
  ASSERT_TRUE(golden.ok()) << golden.status().ToString();
  for (const char* name : {"query", "response", "error", "update"}) {
    const Bytes bytes = FromHex((*golden)[name].get<std::string>()).value();
    auto m = DecodeMessage(bytes);
    ASSERT_TRUE(m.ok()) << name << ": " << m.status().ToString();
    EXPECT_EQ(EncodeMessage(*m), bytes) << name;
  }
  auto q = DecodeMessage(FromHex((*golden)["query"].get<std::string>()).value()).value();
  EXPECT_EQ(q.rid, 4660u);
  EXPECT_EQ(q.command, "peers");
  auto in = DecodePeersInput(*q.value).value();
  EXPECT_EQ(in.port, 49737u);
  EXPECT_EQ(DecodePeer(*in.local_address), (UdpEndpoint{"192.168.4.20", 49737}));
  auto r = DecodeMessage(FromHex((*golden)["response"].get<std::string>()).value()).value();
  auto out = DecodePeersOutput(*r.value).value();
  EXPECT_EQ(DecodePeers(*out.peers, 128).value(),
            std::vector<UdpEndpoint>{(UdpEndpoint{"127.0.0.2", 49154})});
  EXPECT_EQ(DecodeNodes(*r.closer_nodes, 64).value().size(), 2u);
  auto u = DecodeMessage(FromHex((*golden)["update"].get<std::string>()).value()).value();
  EXPECT_EQ(DecodePeersInput(*u.value).value().unannounce, true);
  EXPECT_EQ(EncodePeersOutput({}), FromHex((*golden)["emptyOutput"].get<std::string>()).value());
}

// Our node on the test's loop.
class OurNode {
 public:
  OurNode(runtime::EventLoop& loop, runtime::Clock& clock, bool persistent,
          std::vector<UdpEndpoint> bootstrap)
      : loop_(loop) {
    runtime::AsioUdpSocketFactory sockets(loop);
    UdpDhtOptions o;
    o.host = "127.0.0.1";
    o.node.ephemeral = !persistent;
    o.node.bootstrap = std::move(bootstrap);
    dht_ = loop.Call([&] { return UdpDht::Open(sockets, clock, o).value(); });
  }
  ~OurNode() {
    loop_.Call([&] { dht_.reset(); });
  }
  UdpDht& dht() { return *dht_; }
  UdpEndpoint local() {
    return loop_.Call([&] { return dht_->local(); });
  }

 private:
  runtime::EventLoop& loop_;
  std::unique_ptr<UdpDht> dht_;
};

// A UDP port free on 127.0.0.2 (for the Node bootstrap to bind).
uint16_t FreePort(runtime::EventLoop& loop) {
  runtime::AsioUdpSocketFactory sockets(loop);
  return loop.Call([&] {
    auto s = sockets.Bind("127.0.0.2", 0, [](const UdpEndpoint&, ByteView) {}).value();
    return s->local().port;
  });
}

// Looks `topic` up from `node` until a peer is found (each lookup starts when the previous
// one ended, 100 ms later on the clock) or `limit` passes; the peers of the first success.
std::vector<UdpEndpoint> LookupUntilFound(runtime::EventLoop& loop, runtime::Clock& clock,
                                          DhtNode& node, const NodeId& topic,
                                          std::chrono::seconds limit) {
  std::promise<std::vector<UdpEndpoint>> result;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::function<void()> attempt;
  auto found = std::make_shared<std::vector<UdpEndpoint>>();
  attempt = [&] {
    Lookup(
        node, topic, {},
        [found](const PeersFound& f) {
          for (const auto& p : f.peers) {  // several nodes may hold the same record
            if (std::find(found->begin(), found->end(), p) == found->end()) found->push_back(p);
          }
        },
        [&, found](Status, const QueryStats&) {
          if (!found->empty() || std::chrono::steady_clock::now() > deadline) {
            result.set_value(*found);
            return;
          }
          clock.Schedule(100ms, attempt);
        });
  };
  loop.Post(attempt);
  return result.get_future().get();
}

NodeId TopicOf(uint8_t b) {
  NodeId t{};
  t.fill(b);
  return t;
}

TEST(DhtInterop, NodeAnnouncesWeFindItAndWeAnnounceNodeFindsUs) {
  runtime::EventLoop loop;
  loop.Start();
  runtime::RealClock clock(loop);
  const uint16_t boot_port = FreePort(loop);
  const NodeId node_topic = TopicOf(0x61);
  const NodeId our_topic = TopicOf(0x62);
  auto script = std::async(std::launch::async, [&] {
    return hyper::testing::RunNode("dht_peer", {json{{"mode", "bootstrap-and-announce"},
                                                     {"bootstrapPort", boot_port},
                                                     {"topic", ToHex(node_topic)},
                                                     {"ourTopic", ToHex(our_topic)}}
                                                    .dump()});
  });
  {
    OurNode ours(loop, clock, false, {{"127.0.0.2", boot_port}});
    auto found = LookupUntilFound(loop, clock, ours.dht().node(), node_topic, 15s);
    ASSERT_EQ(found.size(), 1u) << (found.empty() ? "" : found[0].ToString());
    std::promise<Status> announced;
    loop.Post([&] {
      Announce(ours.dht().node(), our_topic, {}, nullptr,
               [&](Status s, const QueryStats&) { announced.set_value(s); });
    });
    EXPECT_TRUE(announced.get_future().get().ok());
    auto out = script.get();
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(found[0].ToString(), (*out)["announcer"].get<std::string>());
    // Node found us at our UDP address: the bootstrap recorded our source port.
    EXPECT_EQ((*out)["found"], json::array({ours.local().ToString()}));
  }
}

TEST(DhtInterop, OurPersistentNodeBootstrapsTwoNodeNodesThatFindEachOther) {
  runtime::EventLoop loop;
  loop.Start();
  runtime::RealClock clock(loop);
  OurNode boot(loop, clock, true, {});
  const NodeId topic = TopicOf(0x63);
  auto out = hyper::testing::RunNode(
      "dht_peer",
      {json{{"mode", "two-nodes"}, {"bootstrap", boot.local().ToString()}, {"topic", ToHex(topic)}}
           .dump()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["found"], json::array({(*out)["announcer"]}));
  const auto [records, nodes] = loop.Call(
      [&] { return std::make_pair(boot.dht().store().size(), boot.dht().node().table().size()); });
  EXPECT_EQ(records, 1u);  // we stored the announce
  EXPECT_EQ(nodes, 2u);    // both Node nodes are persistent and joined our table
}

}  // namespace
}  // namespace hyper::swarm

namespace hyper::swarm {
namespace {

// The done-when line of issue 14: a mixed DHT of 20 Node nodes (one process, 127.0.0.2) and 20
// of ours (persistent UdpDhts on 127.0.0.1, on our loop); `node_hosts_bootstrap` says whose
// node is the bootstrap of everyone. A Node node announces topic A and one of ours finds it;
// one of ours announces topic B and a Node node finds it; then ours announce a third topic that
// tells the Node side it may leave. Both sides hold nodes of the other side in their tables.
void MixedDht(bool node_hosts_bootstrap) {
  constexpr int kEach = 20;
  runtime::EventLoop loop;
  loop.Start();
  runtime::RealClock clock(loop);
  const NodeId topic_a = TopicOf(node_hosts_bootstrap ? 0x71 : 0x81);
  const NodeId topic_b = TopicOf(node_hosts_bootstrap ? 0x72 : 0x82);
  const NodeId done_topic = TopicOf(node_hosts_bootstrap ? 0x73 : 0x83);
  std::vector<std::unique_ptr<OurNode>> ours;
  json cfg = {{"mode", "mixed"},
              {"count", kEach},
              {"topicA", ToHex(topic_a)},
              {"topicB", ToHex(topic_b)},
              {"doneTopic", ToHex(done_topic)},
              {"lifetime", 40000}};
  std::vector<UdpEndpoint> bootstrap;
  if (node_hosts_bootstrap) {
    const uint16_t port = FreePort(loop);
    cfg["bootstrapPort"] = port;
    bootstrap = {{"127.0.0.2", port}};
  } else {
    ours.push_back(std::make_unique<OurNode>(loop, clock, true, std::vector<UdpEndpoint>{}));
    bootstrap = {ours[0]->local()};
    cfg["bootstrap"] = bootstrap[0].ToString();
  }
  while (ours.size() < kEach) {
    ours.push_back(std::make_unique<OurNode>(loop, clock, true, bootstrap));
  }
  auto script = std::async(std::launch::async,
                           [&] { return hyper::testing::RunNode("dht_peer", {cfg.dump()}); });
  if (node_hosts_bootstrap) {
    // Wait for the Node bootstrap to answer a ping (each try ends by an answer or a timeout).
    std::promise<void> up;
    std::function<void()> ping = [&] {
      ours[0]->dht().node().Ping(bootstrap[0], [&](Result<UdpEndpoint> r) {
        if (r.ok()) return up.set_value();
        ping();
      });
    };
    loop.Post(ping);
    ASSERT_EQ(up.get_future().wait_for(20s), std::future_status::ready);
  }
  std::promise<void> bootstrapped;
  loop.Post([&] {
    auto left = std::make_shared<int>(kEach);
    for (auto& n : ours) {
      n->dht().node().Bootstrap([&, left](Status) {
        if (--*left == 0) bootstrapped.set_value();
      });
    }
  });
  ASSERT_EQ(bootstrapped.get_future().wait_for(20s), std::future_status::ready);

  auto found_a = LookupUntilFound(loop, clock, ours[5]->dht().node(), topic_a, 20s);
  for (const auto& [topic, who] : {std::pair{topic_b, 19}, std::pair{done_topic, 3}}) {
    std::promise<Status> announced;
    loop.Post([&, topic = topic, who = who] {
      Announce(ours[who]->dht().node(), topic, {}, nullptr,
               [&](Status s, const QueryStats&) { announced.set_value(s); });
    });
    EXPECT_TRUE(announced.get_future().get().ok());
  }
  auto out = script.get();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(found_a.size(), 1u);
  EXPECT_EQ(found_a[0].ToString(), (*out)["announcer"].get<std::string>());  // ours found A
  EXPECT_EQ((*out)["found"], json::array({ours[19]->local().ToString()}));   // Node found B
  EXPECT_EQ((*out)["doneFound"], json::array({ours[3]->local().ToString()}));
  // A mixed DHT: our tables hold Node nodes (and the Node side reached ours through them).
  const size_t node_entries = loop.Call([&] {
    size_t n = 0;
    for (auto& o : ours) {
      const auto& table = o->dht().node().table();
      for (const auto& e : table.Closest(table.local(), table.size())) {
        if (e.node.address.host == "127.0.0.2") ++n;
      }
    }
    return n;
  });
  EXPECT_GE(node_entries, static_cast<size_t>(kEach));
  std::printf(
      "mixed DHT (%s bootstrap): Node entries in our 20 tables: %zu; Node's lookup of B got it "
      "from %d nodes\n",
      node_hosts_bootstrap ? "Node" : "our", node_entries, (*out)["answers"].get<int>());
}

TEST(DhtInterop, MixedDhtOfTwentyAndTwentyWithOurNodeAsBootstrap) { MixedDht(false); }

TEST(DhtInterop, MixedDhtOfTwentyAndTwentyWithANodeNodeAsBootstrap) { MixedDht(true); }

}  // namespace
}  // namespace hyper::swarm
