// LAN discovery over real multicast DNS (224.0.0.251:5353), ours and Node's
// @hyperswarm/discovery 2.0.1 (tests/interop/scripts/mdns_peer.js). Every test first moves
// into a network namespace of its own holding only `lo` (tests/support/net_namespace.h), so
// that no multicast reaches the machine's interfaces; the Node scripts it starts live there too.
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "hyper/runtime/asio_udp_socket_factory.h"
#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/virtual_clock.h"
#include "hyper/swarm/lan_discovery.h"
#include "tests/support/net_namespace.h"
#include "tests/support/node_harness.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

Key32 TopicOf(uint8_t b) {
  Key32 t{};
  t.fill(b);
  return t;
}

class LanInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status s = testing::EnterPrivateNetworkNamespace();
    ASSERT_TRUE(s.ok()) << s.ToString();
    loop_.Start();
  }
  void TearDown() override {
    loop_.Call([&] { ours_.clear(); });
  }

  // A LanDiscovery of ours on the loop (0.0.0.0:5353, shared; the group joined on every
  // interface: here lo alone, so it sends from 127.0.0.1 as Node's multicast-dns does).
  LanDiscovery& Open() {
    auto lan = loop_.Call([&] { return LanDiscovery::Open(sockets_, clock_); });
    EXPECT_TRUE(lan.ok()) << lan.status().ToString();
    if (!lan.ok()) std::abort();
    ours_.push_back(std::move(*lan));
    return *ours_.back();
  }

  runtime::EventLoop loop_;
  runtime::RealClock clock_{loop_};
  runtime::AsioUdpSocketFactory sockets_{loop_};
  std::vector<std::unique_ptr<LanDiscovery>> ours_;
};

// What a lookup found first, and when.
struct FirstPeer {
  std::promise<std::pair<UdpEndpoint, Clock::duration>> promise;
  bool set = false;
  LanDiscovery::OnPeer Callback(Clock::time_point start) {
    return [this, start](const UdpEndpoint& peer) {
      if (set) return;
      set = true;
      promise.set_value({peer, Clock::now() - start});
    };
  }
};

TEST_F(LanInterop, TwoOfOursThatJoinTogetherFindEachOtherWithinTwoSeconds) {
  LanDiscovery& a = Open();
  LanDiscovery& b = Open();
  const Key32 topic = TopicOf(0x21);
  FirstPeer a_found;
  FirstPeer b_found;
  auto a_future = a_found.promise.get_future();
  auto b_future = b_found.promise.get_future();
  loop_.Call([&] {
    const auto start = Clock::now();
    ASSERT_TRUE(a.Announce(topic, 4001).ok());
    ASSERT_TRUE(a.Lookup(topic, a_found.Callback(start)).ok());
    ASSERT_TRUE(b.Announce(topic, 4002).ok());
    ASSERT_TRUE(b.Lookup(topic, b_found.Callback(start)).ok());
  });
  ASSERT_EQ(a_future.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(b_future.wait_for(10s), std::future_status::ready);
  auto [a_peer, a_took] = a_future.get();
  auto [b_peer, b_took] = b_future.get();
  // Each found the other (from the packet's source: lo's address), never itself.
  EXPECT_EQ(a_peer, (UdpEndpoint{"127.0.0.1", 4002}));
  EXPECT_EQ(b_peer, (UdpEndpoint{"127.0.0.1", 4001}));
  EXPECT_LT(a_took, 2s);
  EXPECT_LT(b_took, 2s);
  std::cout << "found each other after "
            << std::chrono::duration_cast<std::chrono::microseconds>(a_took).count() << " and "
            << std::chrono::duration_cast<std::chrono::microseconds>(b_took).count() << " us\n";
}

TEST_F(LanInterop, NodeFindsOursAndOursFindsNode) {
  LanDiscovery& ours = Open();
  const Key32 node_topic = TopicOf(0x31);
  const Key32 our_topic = TopicOf(0x32);
  const Key32 ack_topic = TopicOf(0x33);
  FirstPeer found;
  auto future = found.promise.get_future();
  const auto start = Clock::now();
  loop_.Call([&] {
    ASSERT_TRUE(ours.Announce(our_topic, 4100).ok());
    auto on_node = found.Callback(start);
    ASSERT_TRUE(ours.Lookup(node_topic,
                            [&ours, on_node, ack_topic](const UdpEndpoint& peer) {
                              on_node(peer);
                              // Tells Node that we found it: it looks this topic up once it found
                              // us.
                              EXPECT_TRUE(ours.Announce(ack_topic, 4100).ok());
                            })
                    .ok());
  });
  auto node = std::async(std::launch::async, [&] {
    return testing::RunNode("mdns_peer", {json{{"mode", "meet"},
                                               {"topic", ToHex(node_topic)},
                                               {"port", 4200},
                                               {"ourTopic", ToHex(our_topic)},
                                               {"ackTopic", ToHex(ack_topic)}}
                                              .dump()});
  });
  ASSERT_EQ(future.wait_for(15s), std::future_status::ready) << "ours never found Node";
  auto [peer, took] = future.get();
  EXPECT_EQ(peer, (UdpEndpoint{"127.0.0.1", 4200}));
  auto out = node.get();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["found"], "127.0.0.1:4100");
  EXPECT_EQ((*out)["ack"], "127.0.0.1:4100");
  std::cout << "ours found Node "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after starting it (Node's start-up included); Node found ours and our ack in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
            << " ms in all\n";
}

TEST_F(LanInterop, NodesPacketsDecodeAndOursAreTheSameBytes) {
  const Key32 topic = TopicOf(0xab);
  auto out = testing::RunNode(
      "mdns_peer", {json{{"mode", "capture"}, {"topic", ToHex(topic)}, {"port", 4321}}.dump()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Our LanDiscovery (sans-IO) looking the topic up, fed what Node sent.
  runtime::VirtualClock clock;
  std::vector<Bytes> sent;
  LanDiscovery lan(clock,
                   [&](const UdpEndpoint&, ByteView d) { sent.emplace_back(d.begin(), d.end()); });
  std::vector<UdpEndpoint> found;
  ASSERT_TRUE(lan.Lookup(topic, [&](const UdpEndpoint& p) { found.push_back(p); }).ok());
  clock.Advance(0ms);
  ASSERT_EQ(sent.size(), 1u);
  size_t queries = 0;
  for (const auto& hex : (*out)["packets"]) {
    const Bytes bytes = FromHex(hex.get<std::string>()).value();
    auto m = DecodeMdnsMessage(bytes);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(EncodeMdnsMessage(*m).value(), bytes);
    if (!m->response()) {
      EXPECT_EQ(sent[0], bytes) << "our query is Node's, byte for byte";
      ++queries;
    }
    lan.OnDatagram({"127.0.0.1", 5353}, bytes);
  }
  EXPECT_EQ(queries, 1u);
  // Both of Node's answers name it; reported once (the repeat comes 30 s later).
  EXPECT_EQ(found, std::vector<UdpEndpoint>{(UdpEndpoint{"127.0.0.1", 4321})});
}

}  // namespace
}  // namespace hyper::swarm
