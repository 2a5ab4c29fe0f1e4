#include "hyper/swarm/peers.h"

#include <gtest/gtest.h>

#include "hyper/swarm/peers_message.h"
#include "src/swarm/sim_network.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using testing::SimNetwork;

// A network of `n` persistent nodes, all bootstrapped through the first.
void Grow(SimNetwork& net, int n) {
  DhtNodeOptions o;
  o.ephemeral = false;
  auto& boot = net.Add(o);
  o.bootstrap = {boot.address};
  for (int i = 1; i < n; ++i) net.Add(o);
  int done = 0;
  for (auto& h : net.hosts()) h->node->Bootstrap([&](Status) { ++done; });
  ASSERT_TRUE(net.RunUntil([&] { return done == n; }));
}

NodeId Topic(uint8_t b) {
  NodeId t{};
  t.fill(b);
  return t;
}

// Runs a lookup from `host` and returns every peer found.
std::vector<UdpEndpoint> LookupAll(SimNetwork& net, SimNetwork::Host& host, const NodeId& topic,
                                   PeersOptions options = {}, bool local = false) {
  std::vector<UdpEndpoint> found;
  bool done = false;
  Lookup(
      *host.node, topic, options,
      [&](const PeersFound& f) {
        for (const auto& p : local ? f.local_peers : f.peers) {
          if (std::find(found.begin(), found.end(), p) == found.end()) found.push_back(p);
        }
      },
      [&](Status, const QueryStats&) { done = true; });
  EXPECT_TRUE(net.RunUntil([&] { return done; }));
  return found;
}

TEST(Peers, AnAnnounceIsFoundByALookupAndGoneAfterUnannounce) {
  SimNetwork net;
  Grow(net, 40);
  auto& announcer = *net.hosts()[7];
  auto& seeker = *net.hosts()[23];
  std::optional<Status> announced;
  Announce(*announcer.node, Topic(1), {}, nullptr, [&](Status s, const QueryStats& st) {
    announced = s;
    EXPECT_GT(st.updates, 0u);
  });
  ASSERT_TRUE(net.RunUntil([&] { return announced.has_value(); }));
  ASSERT_TRUE(announced->ok()) << announced->ToString();
  // Stored with the UDP source address (no port was announced).
  EXPECT_EQ(LookupAll(net, seeker, Topic(1)), std::vector<UdpEndpoint>{announcer.address});
  EXPECT_TRUE(LookupAll(net, seeker, Topic(2)).empty());
  // The announcer does not find itself.
  EXPECT_TRUE(LookupAll(net, announcer, Topic(1)).empty());

  std::optional<Status> gone;
  Unannounce(*announcer.node, Topic(1), {}, [&](Status s, const QueryStats&) { gone = s; });
  ASSERT_TRUE(net.RunUntil([&] { return gone.has_value(); }));
  EXPECT_TRUE(gone->ok());
  EXPECT_TRUE(LookupAll(net, seeker, Topic(1)).empty());
}

TEST(Peers, AnAnnouncedPortAndLocalAddressesTravel) {
  SimNetwork net;
  Grow(net, 25);
  auto& announcer = *net.hosts()[3];
  auto& seeker = *net.hosts()[11];
  PeersOptions ann;
  ann.port = 49737;
  ann.local_address = UdpEndpoint{"192.168.4.20", 49737};
  bool done = false;
  Announce(*announcer.node, Topic(9), ann, nullptr,
           [&](Status, const QueryStats&) { done = true; });
  ASSERT_TRUE(net.RunUntil([&] { return done; }));
  EXPECT_EQ(LookupAll(net, seeker, Topic(9)),
            std::vector<UdpEndpoint>{(UdpEndpoint{announcer.address.host, 49737})});
  PeersOptions same_lan;
  same_lan.local_address = UdpEndpoint{"192.168.9.9", 1000};
  EXPECT_EQ(LookupAll(net, seeker, Topic(9), same_lan, true),
            std::vector<UdpEndpoint>{(UdpEndpoint{"192.168.4.20", 49737})});
  PeersOptions other_lan;
  other_lan.local_address = UdpEndpoint{"10.1.9.9", 1000};
  EXPECT_TRUE(LookupAll(net, seeker, Topic(9), other_lan, true).empty());
}

TEST(Peers, RecordsLiveEightToSixteenMinutes) {
  runtime::VirtualClock clock;
  PeerStore store(clock);
  const Bytes a = {1, 2, 3, 4, 0, 1};
  const Bytes none;
  clock.Advance(1min);
  ASSERT_TRUE(store.Add("t", a));
  clock.Advance(7min);  // the first rotation (at 8 min): a is in the older generation
  EXPECT_EQ(store.Get("t", 10, none).size(), 1u);
  clock.Advance(7min + 59s);
  EXPECT_EQ(store.Get("t", 10, none).size(), 1u);
  clock.Advance(1s);  // the second rotation (at 16 min) drops it: it lived 15 minutes
  EXPECT_TRUE(store.Get("t", 10, none).empty());
  EXPECT_EQ(store.size(), 0u);
}

TEST(Peers, TheStoreIsBoundedAndAnswersAtMostTheLimit) {
  runtime::VirtualClock clock;
  PeerStore store(clock, PeerStoreLimits{200, 200});
  for (int i = 0; i < 300; ++i) {
    Bytes r = {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0, 1};
    const bool kept = store.Add("t", r);
    EXPECT_EQ(kept, i < 200);
  }
  EXPECT_EQ(store.size(), 200u);
  EXPECT_EQ(store.Get("t", 128, {}).size(), 128u);
  // Announcing again refreshes a record and does not count it twice.
  EXPECT_TRUE(store.Add("t", Bytes{10, 0, 0, 5, 0, 1}));
  EXPECT_EQ(store.size(), 200u);
}

}  // namespace
}  // namespace hyper::swarm

namespace hyper::swarm {
namespace {

// 100,000 datagrams from one address (garbage, and announces with a valid token, each for
// another record): the node keeps at most its per-address share of announces, its table and
// requests bounded, and an honest announce and lookup still work. Prints the bytes answered per
// byte received.
TEST(Peers, AFloodFromOneAddressStaysBoundedAndLookupsStillWork) {
  SimNetwork net;
  Grow(net, 20);
  auto& victim = *net.hosts()[5];
  const UdpEndpoint attacker{"10.200.0.1", 5000};
  const Bytes token = victim.node->rpc().Token(attacker.host);
  uint64_t received = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    Bytes d;
    if (i % 4 == 0) {
      d = Bytes{0x08, 0x05, static_cast<uint8_t>(i), 0xff, 0xff};  // garbage
    } else {
      Message m;
      m.version = 1;
      m.type = MessageType::kUpdate;
      m.rid = i & 0xffff;
      m.command = "peers";
      NodeId topic{};
      topic[0] = static_cast<uint8_t>(i / 60000);
      m.target = Bytes(topic.begin(), topic.end());
      m.roundtrip_token = token;
      PeersInput in;
      in.port = i % 60000 + 1;
      m.value = EncodePeersInput(in);
      d = EncodeMessage(m);
    }
    received += d.size();
    net.Inject(attacker, victim.address, d);
  }
  // 7,500 distinct announces from one address (over seven times its share): it holds no more
  // than its share.
  EXPECT_EQ(victim.store->size(), PeerStoreLimits{}.max_per_source);
  EXPECT_EQ(victim.store->from_source(attacker.host), PeerStoreLimits{}.max_per_source);
  EXPECT_EQ(victim.node->counters().malformed_in, 2500u);
  EXPECT_LE(victim.node->table().size(), 256u * kBucketSize);
  EXPECT_EQ(victim.node->rpc().inflight(), 0u);
  std::printf(
      "flood: %.2f bytes answered per byte received\n",
      static_cast<double>(net.bytes_to()[attacker.ToString()]) / static_cast<double>(received));

  auto& announcer = *net.hosts()[9];
  bool done = false;
  Announce(*announcer.node, Topic(0x77), {}, nullptr, [&](Status s, const QueryStats&) {
    EXPECT_TRUE(s.ok());
    done = true;
  });
  ASSERT_TRUE(net.RunUntil([&] { return done; }));
  EXPECT_EQ(LookupAll(net, *net.hosts()[14], Topic(0x77)),
            std::vector<UdpEndpoint>{announcer.address});
}

}  // namespace
}  // namespace hyper::swarm

namespace hyper::swarm {
namespace {

// No amplification: the smallest valid request of each kind, sent from an address that is not
// a node, to a node whose table is full and which stores 200 announces for the topic asked.
// Each answer's closer nodes and value take at most kReplyFactor times the request's bytes, so
// the whole reply is at most 3 x the request + its fixed part (version, type, rid, the
// requester's address, our id, a token or an error: under 128 bytes). Prints each factor.
TEST(Peers, NoAnswerIsMoreThanThreeTimesItsRequestPlusItsFixedPart) {
  SimNetwork net;
  Grow(net, 40);
  auto& victim = *net.hosts()[7];
  ASSERT_GE(victim.node->table().size(), kBucketSize);
  const NodeId topic = Topic(0x42);
  for (uint32_t i = 0; i < 200; ++i) {
    const std::string host = "10.9." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    ASSERT_TRUE(victim.store->Add(ToHex(topic), *EncodePeer({host, 4000}), host));
  }
  const UdpEndpoint asker{"10.200.0.1", 5000};
  const Bytes target(topic.begin(), topic.end());
  auto request = [&](const char* command, bool with_target) {
    Message m;
    m.type = MessageType::kQuery;
    m.rid = 1;
    m.command = command;
    if (with_target) m.target = target;
    return m;
  };
  struct Case {
    const char* name;
    Message request;
  };
  std::vector<Case> cases = {{"_ping", request("_ping", false)},
                             {"_find_node", request("_find_node", true)},
                             {"peers lookup", request("peers", true)},
                             {"unknown command", request("x", true)}};
  Message announce = request("peers", true);
  announce.type = MessageType::kUpdate;
  announce.roundtrip_token = victim.node->rpc().Token(asker.host);
  cases.push_back({"peers announce", announce});
  Message punch = request("_holepunch", true);
  punch.value = EncodeHolepunch({});
  cases.push_back({"_holepunch", punch});
  // Our own requests are padded: they get the reference's full answer.
  Message padded = request("peers", true);
  padded.padding = Bytes(kRequestPadTo - EncodeMessage(padded).size() - 3);
  cases.push_back({"padded lookup", padded});

  for (auto& c : cases) {
    const Bytes d = EncodeMessage(c.request);
    net.last_to().erase(asker.ToString());
    net.Inject(asker, victim.address, d);
    ASSERT_TRUE(net.last_to().count(asker.ToString())) << c.name << ": no answer";
    const Bytes& reply = net.last_to()[asker.ToString()];
    auto decoded = DecodeMessage(reply);
    ASSERT_TRUE(decoded.ok()) << c.name;
    const size_t payload = (decoded->closer_nodes ? decoded->closer_nodes->size() : 0) +
                           (decoded->value ? decoded->value->size() : 0);
    EXPECT_LE(payload, kReplyFactor * d.size()) << c.name;
    EXPECT_LE(reply.size(), kReplyFactor * d.size() + 128) << c.name;
    std::printf("%-16s request %3zu bytes, answer %4zu bytes (%.2fx)\n", c.name, d.size(),
                reply.size(), static_cast<double>(reply.size()) / static_cast<double>(d.size()));
    if (c.request.command == std::string("peers") && c.request.type == MessageType::kQuery) {
      // Still an answer: peers first, closer nodes in what they leave.
      ASSERT_TRUE(decoded->value);
      auto out = DecodePeersOutput(*decoded->value);
      ASSERT_TRUE(out.ok() && out->peers);
      EXPECT_GE(out->peers->size() / kPeerBytes, 1u);
      if (c.request.padding) {
        EXPECT_EQ(out->peers->size() / kPeerBytes, PeersLimits::kMaxPeers);
        ASSERT_TRUE(decoded->closer_nodes);
        EXPECT_EQ(decoded->closer_nodes->size() / kNodeBytes, kBucketSize);
      }
    }
  }
}

}  // namespace
}  // namespace hyper::swarm
