// The swarm's timers on virtual time, over an in-memory network (UDP and TCP): announces are
// refreshed before the DHT forgets them, and lookups are repeated soon after a join, so that a
// peer that announces a moment after a reader looked is still found within a second or two.
#include <gtest/gtest.h>

#include <chrono>

#include "hyper/core/feed.h"
#include "hyper/runtime/memory_socket_factory.h"
#include "hyper/runtime/memory_udp_socket_factory.h"
#include "hyper/runtime/runtime.h"
#include "hyper/runtime/virtual_clock.h"
#include "hyper/storage/file.h"
#include "hyper/swarm/swarm.h"
#include "hyper/swarm/udp_dht.h"
#include "tests/support/memory_feed.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;

class SwarmSchedule : public ::testing::Test {
 protected:
  SwarmSchedule() : loop_(runtime::Default().loop()), clock_(&loop_), udp_(loop_), tcp_(loop_) {
    UdpDhtOptions o;
    o.host = "10.0.0.1";
    o.port = 1000;
    o.node.ephemeral = false;
    boot_ = loop_.Call([&] { return UdpDht::Open(udp_, clock_, o).value(); });
  }
  ~SwarmSchedule() override {
    loop_.Call([&] { boot_.reset(); });
  }

  // Runs the loop until no datagram is in flight (three quiet rounds in a row).
  void Settle() {
    int quiet = 0;
    for (int i = 0; i < 100000 && quiet < 3; i++) {
      quiet = loop_.Call([&] { return udp_.in_flight() == 0; }) ? quiet + 1 : 0;
    }
  }
  // Moves virtual time forward one second at a time, letting the network answer in between.
  void Pass(runtime::Duration d) {
    for (runtime::Duration t{}; t < d; t += 1s) {
      clock_.Advance(1s);
      Settle();
    }
  }
  size_t Records() {
    return loop_.Call([&] { return boot_->store().size(); });
  }

  // A seed of `writer` at 10.0.0.2 that announced `topic` (the network settled after).
  struct Seed {
    std::unique_ptr<protocol::Replicator> rep;
    std::unique_ptr<Swarm> swarm;  // destroyed first
  };
  Seed StartSeed(core::Feed* writer, const NodeId& topic) {
    Seed s;
    s.rep = protocol::Replicator::Create(Options()).value();
    protocol::PeerOptions serve;
    serve.live = true;
    serve.open_on = protocol::PeerOptions::OpenOn::kRemoteAsks;
    EXPECT_TRUE(s.rep->AddFeed(writer, serve).ok());
    s.swarm = Swarm::Open(*s.rep, At("10.0.0.2", true)).value();
    s.swarm->Join(topic, JoinOptions{.announce = true, .lookup = false});
    Settle();
    return s;
  }

  protocol::ReplicationOptions Options() {
    protocol::ReplicationOptions o;
    o.deduplicate = true;
    o.clock = &clock_;
    o.sockets = &tcp_;
    return o;
  }
  SwarmOptions At(const std::string& host, bool listen) {
    SwarmOptions o;
    o.host = host;
    o.port = 2000;
    o.listen = listen;
    o.bootstrap = {UdpEndpoint{"10.0.0.1", 1000}};
    o.clock = &clock_;
    o.udp = &udp_;
    return o;
  }

  runtime::EventLoop& loop_;
  runtime::VirtualClock clock_;
  runtime::MemoryUdpSocketFactory udp_;
  runtime::MemorySocketFactory tcp_;
  std::unique_ptr<UdpDht> boot_;
};

// A writer of 5 blocks and an empty replica of it.
struct Feeds {
  std::unique_ptr<hyper::testing::MemFeed> w = hyper::testing::NewFeed(std::nullopt, 5);
  std::unique_ptr<hyper::testing::MemFeed> r = hyper::testing::NewFeed(w->feed->key());
  core::Feed* writer() const { return w->feed.get(); }
  core::Feed* replica() const { return r->feed.get(); }
  NodeId topic() const {
    NodeId t{};
    std::copy(writer()->discovery_key().begin(), writer()->discovery_key().end(), t.begin());
    return t;
  }
};

TEST_F(SwarmSchedule, ASeedStaysFindableForAsLongAsItRuns) {
  Feeds f;
  Seed seed_of = StartSeed(f.writer(), f.topic());
  auto& seed = seed_of.swarm;
  ASSERT_EQ(Records(), 1u);
  // The DHT forgets a record after 8 to 16 minutes; announced again every 5, it stays.
  Pass(20min);
  EXPECT_EQ(Records(), 1u);
  EXPECT_GE(seed->stats().announces_done, 4u);

  auto reader_rep = protocol::Replicator::Create(Options()).value();
  ASSERT_TRUE(reader_rep->AddFeed(f.replica()).ok());
  auto reader = Swarm::Open(*reader_rep, At("10.0.0.3", false)).value();
  reader->Join(f.topic());
  Settle();
  EXPECT_TRUE(reader_rep->WaitForLength(f.replica(), 5, 10s).ok());
  reader.reset();
  seed.reset();
  // Stopping the seed unannounced it.
  EXPECT_EQ(Records(), 0u);
}

TEST_F(SwarmSchedule, AReaderThatLookedJustBeforeTheSeedAnnouncedFindsItASecondLater) {
  Feeds f;
  auto reader_rep = protocol::Replicator::Create(Options()).value();
  ASSERT_TRUE(reader_rep->AddFeed(f.replica()).ok());
  auto reader = Swarm::Open(*reader_rep, At("10.0.0.3", false)).value();
  reader->Join(f.topic());
  Settle();
  ASSERT_EQ(reader->stats().lookups_done, 1u);
  EXPECT_EQ(reader->stats().peers_found, 0u);

  Seed seed_of = StartSeed(f.writer(), f.topic());
  auto& seed = seed_of.swarm;
  ASSERT_EQ(Records(), 1u);
  EXPECT_EQ(reader->stats().peers_found, 0u);  // nobody looked since
  Pass(1s);                                    // the reader's second lookup
  EXPECT_EQ(reader->stats().lookups_done, 2u);
  EXPECT_EQ(reader->stats().peers_found, 1u);
  EXPECT_TRUE(reader_rep->WaitForLength(f.replica(), 5, 10s).ok());
  // Then the lookups space out: 2 s, 4 s, 8 s ... up to every 5 minutes.
  Pass(2s);
  EXPECT_EQ(reader->stats().lookups_done, 3u);
  Pass(3s);
  EXPECT_EQ(reader->stats().lookups_done, 3u);
  Pass(1s);
  EXPECT_EQ(reader->stats().lookups_done, 4u);
  reader.reset();
  seed.reset();
}

}  // namespace
}  // namespace hyper::swarm
