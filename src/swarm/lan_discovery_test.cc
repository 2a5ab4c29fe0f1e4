#include "hyper/swarm/lan_discovery.h"

#include <gtest/gtest.h>

#include <deque>

#include "hyper/runtime/virtual_clock.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;

Key32 TopicOf(uint8_t b) {
  Key32 t{};
  t.fill(b);
  return t;
}

// A LAN in memory on a virtual clock: every datagram sent goes to every node (the sender too,
// as multicast loopback does), from the sender's address. Deliver() runs until quiet.
class Lan {
 public:
  struct Sent {
    std::string from;
    runtime::TimePoint at;
    UdpEndpoint to;
    MdnsMessage message;
  };
  struct Node {
    std::string host;
    std::unique_ptr<LanDiscovery> lan;
    std::vector<UdpEndpoint> found;
  };

  Node& Add(const std::string& host, LanDiscoveryOptions options = {}) {
    auto node = std::make_unique<Node>();
    node->host = host;
    node->lan = std::make_unique<LanDiscovery>(
        clock_,
        [this, host](const UdpEndpoint& to, ByteView d) {
          queue_.push_back({host, Bytes(d.begin(), d.end())});
          sent_.push_back({host, clock_.Now(), to, DecodeMdnsMessage(d).value()});
        },
        std::move(options));
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }
  LanDiscovery::OnPeer Collect(Node& n) {
    return [&n](const UdpEndpoint& peer) { n.found.push_back(peer); };
  }

  // A datagram from outside the nodes (`host`), delivered to all at the next Deliver.
  void Inject(const std::string& host, const MdnsMessage& m) {
    queue_.push_back({host, EncodeMdnsMessage(m).value()});
  }
  void Deliver() {
    for (size_t guard = 0; !queue_.empty() && guard < 100000; ++guard) {
      auto [from, bytes] = std::move(queue_.front());
      queue_.pop_front();
      for (auto& n : nodes_) n->lan->OnDatagram({from, 5353}, bytes);
    }
  }
  // Moves time forward in small steps, delivering as it goes.
  void Run(runtime::Duration d) {
    const runtime::TimePoint end = clock_.Now() + d;
    Deliver();
    while (clock_.Now() < end) {
      clock_.Advance(std::min<runtime::Duration>(100ms, end - clock_.Now()));
      Deliver();
    }
  }

  runtime::VirtualClock& clock() { return clock_; }
  const std::vector<Sent>& sent() const { return sent_; }
  std::vector<Sent> SentBy(const std::string& host, bool responses) const {
    std::vector<Sent> out;
    for (const auto& s : sent_) {
      if (s.from == host && s.message.response() == responses) out.push_back(s);
    }
    return out;
  }

 private:
  runtime::VirtualClock clock_;
  std::deque<std::pair<std::string, Bytes>> queue_;
  std::vector<Sent> sent_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

MdnsMessage QueryFor(const std::string& name) {
  MdnsMessage q;
  q.questions.push_back({name, kDnsTypeSrv, kDnsClassIn});
  return q;
}

MdnsMessage AnswerFor(const std::string& name, uint16_t port, const std::string& target,
                      const std::string& id) {
  MdnsMessage r;
  r.flags = kDnsFlagResponse | kDnsFlagAuthoritative;
  MdnsRecord srv;
  srv.name = name;
  srv.type = kDnsTypeSrv;
  srv.port = port;
  srv.target = target;
  r.answers.push_back(srv);
  MdnsRecord txt;
  txt.name = name;
  txt.type = kDnsTypeTxt;
  txt.strings.push_back(ToBytes(id));
  r.answers.push_back(txt);
  return r;
}

TEST(LanDiscovery, TwoNodesThatJoinTogetherFindEachOtherAtOnceAndNeverThemselves) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  auto& b = net.Add("10.0.0.2");
  const Key32 topic = TopicOf(7);
  ASSERT_TRUE(a.lan->Announce(topic, 4000).ok());
  ASSERT_TRUE(a.lan->Lookup(topic, net.Collect(a)).ok());
  ASSERT_TRUE(b.lan->Announce(topic, 5000).ok());
  ASSERT_TRUE(b.lan->Lookup(topic, net.Collect(b)).ok());
  net.Run(0ms);
  EXPECT_TRUE(a.found.empty()) << "nothing is sent inline";
  net.clock().Advance(0ms);
  net.Deliver();
  EXPECT_EQ(a.found, std::vector<UdpEndpoint>{(UdpEndpoint{"10.0.0.2", 5000})});
  EXPECT_EQ(b.found, std::vector<UdpEndpoint>{(UdpEndpoint{"10.0.0.1", 4000})});
  // Later rounds find them again only after peer_repeat.
  net.Run(10s);
  EXPECT_EQ(a.found.size(), 1u);
  EXPECT_EQ(b.found.size(), 1u);
}

TEST(LanDiscovery, AQueryIsAnsweredToTheGroupWithSrvTxtAndTheReferrer) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  const Key32 topic = TopicOf(7);
  ASSERT_TRUE(a.lan->Announce(topic, 4000).ok());
  net.Run(5s);  // past the first sends
  const size_t before = net.SentBy("10.0.0.1", true).size();
  net.Inject("10.0.0.9", QueryFor(a.lan->NameOf(topic)));
  net.Deliver();
  auto answers = net.SentBy("10.0.0.1", true);
  ASSERT_EQ(answers.size(), before + 1);
  const Lan::Sent& r = answers.back();
  EXPECT_EQ(r.to, (UdpEndpoint{"224.0.0.251", 5353}));
  EXPECT_EQ(r.message.flags, kDnsFlagResponse | kDnsFlagAuthoritative);
  ASSERT_EQ(r.message.answers.size(), 3u);
  EXPECT_EQ(r.message.answers[0].type, kDnsTypeSrv);
  EXPECT_EQ(r.message.answers[0].name, ToHex(Bytes(20, 7)) + ".hyperswarm.local");
  EXPECT_EQ(r.message.answers[0].target, "0.0.0.0");
  EXPECT_EQ(r.message.answers[0].port, 4000);
  EXPECT_EQ(r.message.answers[1].type, kDnsTypeTxt);
  ASSERT_EQ(r.message.answers[1].strings.size(), 1u);
  EXPECT_EQ(r.message.answers[1].strings[0].size(), 35u);
  EXPECT_EQ(AsString(r.message.answers[1].strings[0]).substr(0, 3), "id=");
  EXPECT_EQ(r.message.answers[2].type, kDnsTypeA);
  EXPECT_EQ(r.message.answers[2].name, "referrer.hyperswarm.local");
  EXPECT_EQ(FormatIpv4(r.message.answers[2].address), "10.0.0.9");
  // A query that already holds our answer (our id) is not answered again.
  MdnsMessage known = QueryFor(a.lan->NameOf(topic));
  known.answers.push_back(r.message.answers[1]);
  net.Run(2s);
  net.Inject("10.0.0.9", known);
  net.Deliver();
  EXPECT_EQ(net.SentBy("10.0.0.1", true).size(), before + 1);
}

TEST(LanDiscovery, ALookupQueriesAt0And1And3SecondsThenEvery30To60) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  const runtime::TimePoint start = net.clock().Now();
  ASSERT_TRUE(a.lan->Lookup(TopicOf(1), net.Collect(a)).ok());
  net.Run(300s);
  auto queries = net.SentBy("10.0.0.1", false);
  ASSERT_GE(queries.size(), 7u);
  EXPECT_EQ(queries[0].at - start, 0s);
  EXPECT_EQ(queries[1].at - start, 1s);
  EXPECT_EQ(queries[2].at - start, 3s);
  for (size_t i = 3; i < queries.size(); ++i) {
    const auto gap = queries[i].at - queries[i - 1].at;
    EXPECT_GE(gap, 30s) << i;
    EXPECT_LT(gap, 60s) << i;
  }
  ASSERT_EQ(queries[0].message.questions.size(), 1u);
  EXPECT_EQ(queries[0].message.questions[0].type, kDnsTypeSrv);
  EXPECT_EQ(queries[0].message.flags, 0);
  EXPECT_TRUE(net.SentBy("10.0.0.1", true).empty()) << "a lookup alone answers nothing";
}

TEST(LanDiscovery, AnAnnounceAloneNeverQueriesAndAnswersUnaskedOnlyAfterJoining) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  const runtime::TimePoint start = net.clock().Now();
  ASSERT_TRUE(a.lan->Announce(TopicOf(1), 4000).ok());
  net.Run(300s);
  EXPECT_TRUE(net.SentBy("10.0.0.1", false).empty());
  auto answers = net.SentBy("10.0.0.1", true);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].at - start, 0s);
  EXPECT_EQ(answers[1].at - start, 1s);
  EXPECT_EQ(answers[2].at - start, 3s);
  // Unasked: no referrer, as the reference's first answer.
  EXPECT_EQ(answers[0].message.answers.size(), 2u);
}

TEST(LanDiscovery, AFloodOfQueriesGetsOneAnswerPerSecond) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  const Key32 topic = TopicOf(3);
  ASSERT_TRUE(a.lan->Announce(topic, 4000).ok());
  net.Run(10s);
  const size_t before = net.SentBy("10.0.0.1", true).size();
  for (int i = 0; i < 10000; ++i) {
    net.Inject("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250),
               QueryFor(a.lan->NameOf(topic)));
  }
  net.Deliver();
  EXPECT_EQ(net.SentBy("10.0.0.1", true).size(), before + 1) << "the first answer at once";
  net.Run(999ms);
  EXPECT_EQ(net.SentBy("10.0.0.1", true).size(), before + 1);
  net.Run(1ms);
  // The queries that came meanwhile get one answer, a second after the first.
  EXPECT_EQ(net.SentBy("10.0.0.1", true).size(), before + 2);
  net.Run(60s);
  EXPECT_EQ(net.SentBy("10.0.0.1", true).size(), before + 2);
  // It heard the flood and its own answers (multicast comes back to the sender).
  EXPECT_EQ(a.lan->counters().datagrams_in, 10000u + net.SentBy("10.0.0.1", true).size());
}

TEST(LanDiscovery, OneQueryForTwoTopicsGetsOneAnswerWithBoth) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  ASSERT_TRUE(a.lan->Announce(TopicOf(1), 4001).ok());
  ASSERT_TRUE(a.lan->Announce(TopicOf(2), 4002).ok());
  net.Run(5s);
  const size_t before = net.SentBy("10.0.0.1", true).size();
  MdnsMessage q = QueryFor(a.lan->NameOf(TopicOf(1)));
  q.questions.push_back({a.lan->NameOf(TopicOf(2)), kDnsTypeSrv, kDnsClassIn});
  q.questions.push_back({a.lan->NameOf(TopicOf(9)), kDnsTypeSrv, kDnsClassIn});  // not ours
  net.Inject("10.0.0.9", q);
  net.Deliver();
  auto answers = net.SentBy("10.0.0.1", true);
  ASSERT_EQ(answers.size(), before + 1);
  ASSERT_EQ(answers.back().message.answers.size(), 5u);
  EXPECT_EQ(answers.back().message.answers[0].port, 4001);
  EXPECT_EQ(answers.back().message.answers[2].port, 4002);
}

TEST(LanDiscovery, PeersComeFromTheSourceOrAnIpv4TargetAndRepeatAfter30Seconds) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  const Key32 topic = TopicOf(5);
  ASSERT_TRUE(a.lan->Lookup(topic, net.Collect(a)).ok());
  net.Run(5s);
  const std::string name = a.lan->NameOf(topic);
  net.Inject("10.0.0.7", AnswerFor(name, 7000, "0.0.0.0", "id=x"));
  net.Inject("10.0.0.7", AnswerFor(name, 7001, "192.168.1.20", "id=y"));
  net.Inject("10.0.0.7", AnswerFor(name, 7002, "peer.local", "id=z"));  // no resolving
  net.Inject("10.0.0.7", AnswerFor(name, 0, "0.0.0.0", "id=w"));        // no port
  net.Inject("10.0.0.7", AnswerFor(name + "x", 7003, "0.0.0.0", "id=v"));
  net.Inject("10.0.0.7", AnswerFor(name, 7000, "0.0.0.0", "id=x"));  // again at once
  net.Deliver();
  EXPECT_EQ(a.found, (std::vector<UdpEndpoint>{{"10.0.0.7", 7000}, {"192.168.1.20", 7001}}));
  net.Run(30s);
  net.Inject("10.0.0.7", AnswerFor(name, 7000, "0.0.0.0", "id=x"));
  net.Deliver();
  EXPECT_EQ(a.found.size(), 3u);
}

TEST(LanDiscovery, PeersRememberedPerTopicAreBounded) {
  Lan net;
  LanDiscoveryOptions o;
  o.max_peers_per_topic = 4;
  auto& a = net.Add("10.0.0.1", o);
  const Key32 topic = TopicOf(5);
  ASSERT_TRUE(a.lan->Lookup(topic, net.Collect(a)).ok());
  for (int i = 0; i < 10; ++i) {
    net.Inject("10.0.0." + std::to_string(10 + i),
               AnswerFor(a.lan->NameOf(topic), 7000, "0.0.0.0", "id=" + std::to_string(i)));
  }
  net.Deliver();
  EXPECT_EQ(a.found.size(), 4u);
  net.Run(30s);  // the remembered ones expire: room for new ones
  net.Inject("10.0.0.99", AnswerFor(a.lan->NameOf(topic), 7000, "0.0.0.0", "id=new"));
  net.Deliver();
  EXPECT_EQ(a.found.size(), 5u);
}

TEST(LanDiscovery, TopicsAreBoundedAndBadArgumentsAreErrors) {
  Lan net;
  LanDiscoveryOptions o;
  o.max_topics = 2;
  auto& a = net.Add("10.0.0.1", o);
  EXPECT_TRUE(a.lan->Announce(TopicOf(1), 1).ok());
  EXPECT_TRUE(a.lan->Lookup(TopicOf(2), net.Collect(a)).ok());
  EXPECT_TRUE(a.lan->Lookup(TopicOf(1), net.Collect(a)).ok()) << "the same topic, both ways";
  EXPECT_EQ(a.lan->Announce(TopicOf(3), 1).code(), Code::kBusy);
  a.lan->Leave(TopicOf(2));
  EXPECT_EQ(a.lan->topics(), 1u);
  EXPECT_TRUE(a.lan->Announce(TopicOf(3), 1).ok());
  EXPECT_EQ(a.lan->Announce(TopicOf(4), 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(a.lan->Lookup(TopicOf(4), nullptr).code(), Code::kInvalidArgument);
  LanDiscoveryOptions bad;
  bad.domain = "bad..domain";
  auto& b = net.Add("10.0.0.2", bad);
  EXPECT_EQ(b.lan->Announce(TopicOf(1), 1).code(), Code::kInvalidArgument);
  a.lan->Close();
  EXPECT_EQ(a.lan->Announce(TopicOf(1), 1).code(), Code::kCancelled);
}

TEST(LanDiscovery, LeaveAndCloseStopEverythingEvenFromACallback) {
  Lan net;
  auto& a = net.Add("10.0.0.1");
  auto& b = net.Add("10.0.0.2");
  auto& c = net.Add("10.0.0.3");
  const Key32 topic = TopicOf(4);
  ASSERT_TRUE(b.lan->Announce(topic, 5000).ok());
  ASSERT_TRUE(c.lan->Announce(topic, 6000).ok());
  int calls = 0;
  ASSERT_TRUE(a.lan
                  ->Lookup(topic,
                           [&](const UdpEndpoint&) {
                             ++calls;
                             a.lan->Leave(topic);  // from inside the callback
                           })
                  .ok());
  net.Run(1ms);
  EXPECT_EQ(calls, 1) << "left after the first peer";
  EXPECT_EQ(a.lan->topics(), 0u);
  const size_t sent = net.SentBy("10.0.0.1", false).size();
  net.Run(300s);
  EXPECT_EQ(net.SentBy("10.0.0.1", false).size(), sent) << "no query after Leave";
  b.lan->Close();
  const size_t b_sent = net.SentBy("10.0.0.2", true).size();
  net.Inject("10.0.0.9", QueryFor(b.lan->NameOf(topic)));
  net.Deliver();
  EXPECT_EQ(net.SentBy("10.0.0.2", true).size(), b_sent) << "no answer after Close";
  EXPECT_EQ(net.SentBy("10.0.0.3", true).size(), 4u) << "c answered: 3 unasked + 1 asked";
}

// A `send` that delivers at once, to every node (itself too): a node's query is answered, and
// its callback run, before its send returns; callbacks that leave or close are safe there
// (ASan would say otherwise).
TEST(LanDiscovery, ASendThatDeliversInlineWhileCallbacksLeaveAndCloseIsSafe) {
  runtime::VirtualClock clock;
  std::vector<std::unique_ptr<LanDiscovery>> nodes;
  auto send_from = [&](std::string host) {
    return [&nodes, host](const UdpEndpoint&, ByteView d) {
      const Bytes copy(d.begin(), d.end());
      for (auto& n : nodes) n->OnDatagram({host, 5353}, copy);
    };
  };
  for (int i = 1; i <= 3; ++i) {
    nodes.push_back(
        std::make_unique<LanDiscovery>(clock, send_from("10.0.0." + std::to_string(i))));
  }
  const Key32 topic = TopicOf(6);
  ASSERT_TRUE(nodes[2]->Announce(topic, 4002).ok());
  clock.Advance(5s);  // its unasked answers are over
  std::vector<UdpEndpoint> found;
  ASSERT_TRUE(nodes[0]->Announce(topic, 4000).ok());
  ASSERT_TRUE(nodes[0]
                  ->Lookup(topic,
                           [&](const UdpEndpoint& peer) {
                             found.push_back(peer);
                             nodes[0]->Leave(topic);
                           })
                  .ok());
  clock.Advance(0s);  // its query's answer comes back inside its send
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0], (UdpEndpoint{"10.0.0.3", 4002}));
  EXPECT_EQ(nodes[0]->topics(), 0u);
  clock.Advance(2s);
  ASSERT_TRUE(nodes[1]
                  ->Lookup(topic,
                           [&](const UdpEndpoint& peer) {
                             found.push_back(peer);
                             nodes[1]->Close();
                           })
                  .ok());
  clock.Advance(0s);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[1], (UdpEndpoint{"10.0.0.3", 4002}));
  EXPECT_EQ(nodes[1]->topics(), 0u);
  EXPECT_EQ(nodes[1]->Lookup(topic, [](const UdpEndpoint&) {}).code(), Code::kCancelled);
  clock.Advance(100s);
  EXPECT_EQ(found.size(), 2u);
  EXPECT_EQ(nodes[2]->topics(), 1u);
}

TEST(LanDiscovery, DatagramsThatAreNotDnsAreCountedAndIgnored) {
  runtime::VirtualClock clock;
  size_t sent = 0;
  LanDiscovery lan(clock, [&](const UdpEndpoint&, ByteView) { ++sent; });
  ASSERT_TRUE(lan.Announce(TopicOf(1), 4000).ok());
  lan.OnDatagram({"10.0.0.9", 5353}, AsBytes("not dns at all"));
  lan.OnDatagram({"10.0.0.9", 5353}, ByteView());
  EXPECT_EQ(lan.counters().malformed_in, 2u);
  EXPECT_EQ(sent, 0u);
}

}  // namespace
}  // namespace hyper::swarm
