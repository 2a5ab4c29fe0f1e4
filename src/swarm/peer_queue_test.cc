#include "hyper/swarm/peer_queue.h"

#include <gtest/gtest.h>

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using runtime::UdpEndpoint;

const UdpEndpoint kA{"10.0.0.1", 1000};
const UdpEndpoint kB{"10.0.0.2", 1000};
const UdpEndpoint kLan{"192.168.1.5", 2000};

TEST(PeerQueue, LanPeersFirstAndEachPeerOnce) {
  PeerQueue q;
  runtime::TimePoint t0{};
  EXPECT_TRUE(q.Add(kA, false, t0));
  EXPECT_FALSE(q.Add(kA, false, t0));  // already waiting
  EXPECT_TRUE(q.Add(kLan, true, t0));
  EXPECT_EQ(q.Next(t0), kLan);
  EXPECT_EQ(q.Next(t0), kA);
  EXPECT_EQ(q.Next(t0), std::nullopt);
  EXPECT_FALSE(q.Add(kA, false, t0));  // being dialled
}

TEST(PeerQueue, FailedDialsBackOffThenGiveUpUntilForgotten) {
  PeerQueueOptions o;
  o.backoff = {1s, 5s, 15s};
  o.max_retries = 3;
  o.forget_after = 60s;
  PeerQueue q(o);
  runtime::TimePoint t{};
  ASSERT_TRUE(q.Add(kA, false, t));
  const runtime::Duration waits[] = {1s, 5s, 15s};
  for (auto wait : waits) {
    ASSERT_EQ(q.Next(t), kA);
    q.Done(kA, false, t);
    ASSERT_EQ(q.NextReady(), t + wait);
    EXPECT_EQ(q.Next(t + wait - 1ms), std::nullopt);
    t += wait;
  }
  ASSERT_EQ(q.Next(t), kA);
  q.Done(kA, false, t);  // the fourth failure: given up
  EXPECT_EQ(q.NextReady(), std::nullopt);
  EXPECT_FALSE(q.Add(kA, false, t + 59s));
  EXPECT_TRUE(q.Add(kA, false, t + 60s));  // found again after the forget period
  EXPECT_EQ(q.Next(t + 60s), kA);
}

TEST(PeerQueue, AClosedConnectionIsDialledAgainSoonAndBannedPeersNever) {
  PeerQueue q;
  runtime::TimePoint t{};
  q.Add(kA, false, t);
  q.Add(kB, false, t);
  ASSERT_TRUE(q.Next(t).has_value());
  ASSERT_TRUE(q.Next(t).has_value());
  q.Connected(kA);
  q.Connected(kB);
  q.Done(kA, true, t);
  EXPECT_EQ(q.NextReady(), t + 1s);
  q.Ban(kB);
  q.Done(kB, true, t);
  EXPECT_TRUE(q.banned(kB));
  EXPECT_FALSE(q.Add(kB, false, t + 1h));
  EXPECT_EQ(q.Next(t + 1s), kA);
  EXPECT_EQ(q.Next(t + 1h), std::nullopt);
}

TEST(PeerQueue, OnlyUnicastAddressesWithAPortAreDialable) {
  EXPECT_TRUE(Dialable(UdpEndpoint{"10.0.0.1", 1}));
  EXPECT_TRUE(Dialable(UdpEndpoint{"127.0.0.1", 49737}));
  for (const UdpEndpoint& bad :
       {UdpEndpoint{"10.0.0.1", 0}, UdpEndpoint{"0.0.0.0", 80}, UdpEndpoint{"0.1.2.3", 80},
        UdpEndpoint{"224.0.0.251", 5353}, UdpEndpoint{"255.255.255.255", 80},
        UdpEndpoint{"240.0.0.1", 80}, UdpEndpoint{"not an address", 80}}) {
    EXPECT_FALSE(Dialable(bad)) << bad.ToString();
  }
}

TEST(PeerQueue, RemembersAtMostMaxKnown) {
  PeerQueueOptions o;
  o.max_known = 3;
  PeerQueue q(o);
  runtime::TimePoint t{};
  for (uint16_t p = 1; p <= 5; p++) q.Add(UdpEndpoint{"10.0.0.9", p}, false, t);
  EXPECT_EQ(q.known(), 3u);
}

}  // namespace
}  // namespace hyper::swarm
