// A peer that asks us for a block we freed (Feed::Clear, as a drive's gc does) gets our "don't
// have" (an Unhave) and asks another peer at once: no request left waiting on us, no connection
// dropped for it. Over TCP on loopback.
#include <gtest/gtest.h>

#include <chrono>

#include "hyper/protocol/tcp.h"
#include "hyper/storage/file.h"
#include "tests/support/memory_feed.h"

namespace hyper::protocol {
namespace {

using namespace std::chrono_literals;

using hyper::testing::MemFeed;
using hyper::testing::NewFeed;

TEST(FreedBlock, IsNotAnnouncedAndAPeerAskingForItMovesOnToOneThatHasIt) {
  auto w = NewFeed(std::nullopt, 10);
  auto mirror = NewFeed(w->feed->key(), 0);
  auto r = NewFeed(w->feed->key(), 0);
  {
    auto once = Replicator::Create().value();
    ASSERT_TRUE(once->AddFeed(w->feed.get()).ok());
    uint16_t port = once->Listen("127.0.0.1", 0).value();
    ASSERT_TRUE(ReplicateOnce({mirror->feed.get()}, "127.0.0.1", port, 10s).ok());
  }
  ASSERT_EQ(mirror->feed->Downloaded(), 10u);
  PeerOptions live;
  live.live = true;
  // We serve as `hyperdrive seed` does: live and sparse (we download nothing unless asked, so
  // a freed block stays freed even when a peer offers it).
  PeerOptions serving = live;
  serving.sparse = true;
  auto a = Replicator::Create().value();
  ASSERT_TRUE(a->AddFeed(w->feed.get(), serving).ok());
  uint16_t port_a = a->Listen("127.0.0.1", 0).value();

  // The reader learns that we (a) have every block, then we free 2..4.
  PeerOptions sparse = live;
  sparse.sparse = true;
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), sparse).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port_a).ok());
  ASSERT_TRUE(client->Update(r->feed.get(), 5s).ok());
  ASSERT_EQ(r->feed->length(), 10u);
  ASSERT_TRUE(w->feed->Clear(BlockIndex(2), BlockIndex(5)).ok());
  EXPECT_FALSE(w->feed->Has(BlockIndex(3)));
  EXPECT_EQ(w->feed->Downloaded(), 7u);

  // Asked for block 3, we say we do not have it: the read ends at its own deadline (nobody
  // else is connected), and the connection stays up.
  core::GetOptions quick;
  quick.timeout = 500ms;
  auto missing = r->feed->Get(BlockIndex(3), quick);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(client->connections().size(), 1u);
  // A block we still have is served as before.
  core::GetOptions go;
  go.timeout = 5s;
  auto kept = r->feed->Get(BlockIndex(6), go);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(AsString(*kept), "block 6");

  // A peer that has it comes: the block comes from it well before our request would have timed
  // out (the connection timeout, 20 s), because our Unhave released that request.
  auto b = Replicator::Create().value();
  ASSERT_TRUE(b->AddFeed(mirror->feed.get(), live).ok());
  uint16_t port_b = b->Listen("127.0.0.1", 0).value();
  ASSERT_TRUE(client->Connect("127.0.0.1", port_b).ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto got = r->feed->Get(BlockIndex(3), go);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(AsString(*got), "block 3");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(client->connections().size(), 2u);  // nobody was dropped for it
  // Block 3 came from the mirror; we uploaded the others the reader got (the last block, read
  // by Update, and block 6).
  ASSERT_TRUE(client->WaitUntilIdle(0ms).code() == Code::kTimeout);  // live: still connected
  EXPECT_EQ(b->stats(mirror->feed.get()).value().uploaded_blocks, 1u);
  EXPECT_EQ(a->stats(w->feed.get()).value().uploaded_blocks, r->feed->Downloaded() - 1);

  // A newcomer asks us only for what we announce: a full download from us alone gets the 7
  // blocks we have and the length, never block 3.
  auto late = NewFeed(w->feed->key(), 0);
  auto c = Replicator::Create().value();
  ASSERT_TRUE(c->AddFeed(late->feed.get(), live).ok());
  ASSERT_TRUE(c->Connect("127.0.0.1", port_a).ok());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (late->feed->Downloaded() < 7) {
    const uint64_t seen = c->events();
    if (late->feed->Downloaded() >= 7) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    c->WaitForEvent(seen, 1s);
  }
  EXPECT_EQ(late->feed->length(), 10u);
  EXPECT_EQ(late->feed->Downloaded(), 7u);
  EXPECT_FALSE(late->feed->Has(BlockIndex(3)));
}

}  // namespace
}  // namespace hyper::protocol
