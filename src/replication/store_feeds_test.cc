#include "hyper/replication/store_feeds.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "hyper/storage/file.h"
#include "tests/support/temp_dir.h"

namespace hyper::replication {
namespace {

using namespace std::chrono_literals;

// The answers the store gave, recorded as they pass from the provider to the replicator.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<crypto::Hash, bool>> seen;  // discovery key, served

  // A provider that records what `inner` answers.
  std::function<void(const crypto::Hash&, protocol::FeedAnswer)> Wrap(
      std::function<void(const crypto::Hash&, protocol::FeedAnswer)> inner) {
    return [this, inner](const crypto::Hash& dk, protocol::FeedAnswer answer) {
      inner(dk, [this, dk, answer](std::shared_ptr<core::Feed> feed, protocol::PeerOptions o) {
        {
          std::lock_guard lock(mu);
          seen.emplace_back(dk, feed != nullptr);
        }
        cv.notify_all();
        answer(std::move(feed), o);
      });
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return seen.size() >= n; });
  }
};

struct Replica {
  storage::MemoryDirectory dir;
  std::unique_ptr<core::Feed> feed;
  explicit Replica(const crypto::PublicKey& key) {
    core::FeedOptions o;
    o.key = key;
    feed = std::move(core::Feed::Open(dir.factory(), o).value());
  }
};

std::shared_ptr<core::Feed> Written(corestore::Corestore& store, const std::string& name,
                                    int blocks) {
  corestore::CoreOptions o;
  o.name = name;
  auto feed = store.Get(o).value();
  for (int i = 0; i < blocks; i++) {
    EXPECT_TRUE(feed->Append(ToBytes(name + " block " + std::to_string(i))).ok());
  }
  return feed;
}

TEST(StoreFeeds, AnswersOnlyTheCoresTheRemoteAsksForAndNamesNoOther) {
  testing::TempDir tmp;
  auto store = corestore::Corestore::OpenDirectory(tmp.Sub("store")).value();
  auto a = Written(*store, "a", 10);
  auto b = Written(*store, "b", 5);
  auto c = Written(*store, "c", 7);  // held and allowed, never asked for
  const crypto::Hash dk_a = crypto::DiscoveryKey(a->key());
  const crypto::Hash dk_b = crypto::DiscoveryKey(b->key());

  StoreFeedsOptions so;
  so.peer.live = true;
  so.allow = [dk_b](const crypto::Hash& dk) { return dk != dk_b; };
  auto served = std::make_unique<StoreFeeds>(*store, so);
  Answers answers;
  protocol::ReplicationOptions ro;
  ro.feed_provider = answers.Wrap(served->provider());
  auto server = protocol::Replicator::Create(ro).value();
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  EXPECT_EQ(server->feed_count(), 0u);  // nothing is opened before a peer asks

  // The client asks for a (held), b (held, not allowed) and a key the store does not hold.
  Replica ra(a->key()), rb(b->key()), rx(crypto::RandomKeyPair().public_key);
  protocol::PeerOptions live;
  live.live = true;
  auto client = protocol::Replicator::Create().value();
  for (auto* r : {&ra, &rb, &rx}) ASSERT_TRUE(client->AddFeed(r->feed.get(), live).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  ASSERT_TRUE(client->WaitForLength(ra.feed.get(), 10, 10s).ok());
  ASSERT_TRUE(answers.WaitFor(3));
  EXPECT_EQ(served->served(), 1u);
  EXPECT_EQ(served->refused(), 2u);
  for (const auto& [dk, ok] : answers.seen) EXPECT_EQ(ok, dk == dk_a);

  // The only channel the server opened is a's: c, b and the unknown key were never named.
  auto conns = client->connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].remote_channels, std::vector<crypto::Hash>{dk_a});
  EXPECT_EQ(rb.feed->length(), 0u);
  EXPECT_EQ(server->feed_count(), 1u);
  (void)c;

  // Once no peer replicates it, the server lets the core go.
  client.reset();
  ASSERT_TRUE(server->WaitUntilIdle(10s).ok());
  EXPECT_EQ(server->feed_count(), 0u);
}

TEST(StoreFeeds, LocalAppendsReachThePeerOfAServedCore) {
  testing::TempDir tmp;
  auto store = corestore::Corestore::OpenDirectory(tmp.Sub("store")).value();
  auto a = Written(*store, "a", 3);
  StoreFeedsOptions so;
  so.peer.live = true;
  StoreFeeds served(*store, so);
  protocol::ReplicationOptions ro;
  ro.feed_provider = served.provider();
  auto server = protocol::Replicator::Create(ro).value();
  uint16_t port = server->Listen("127.0.0.1", 0).value();

  Replica ra(a->key());
  protocol::PeerOptions live;
  live.live = true;
  auto client = protocol::Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(ra.feed.get(), live).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  ASSERT_TRUE(client->WaitForLength(ra.feed.get(), 3, 10s).ok());
  // The store's feed is the one being served: an append to it is announced and sent.
  ASSERT_TRUE(a->Append(ToBytes("late")).ok());
  ASSERT_TRUE(client->WaitForLength(ra.feed.get(), 4, 10s).ok());
  EXPECT_EQ(AsString(ra.feed->Get(BlockIndex(3)).value()), "late");
}

TEST(StoreFeeds, AProviderThatOutlivesItAnswersNothing) {
  testing::TempDir tmp;
  auto store = corestore::Corestore::OpenDirectory(tmp.Sub("store")).value();
  auto a = Written(*store, "a", 1);
  std::function<void(const crypto::Hash&, protocol::FeedAnswer)> provider;
  {
    StoreFeeds served(*store, {});
    provider = served.provider();
  }
  std::promise<bool> got;
  provider(crypto::DiscoveryKey(a->key()),
           [&got](std::shared_ptr<core::Feed> feed, protocol::PeerOptions) {
             got.set_value(feed != nullptr);
           });
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(f.get());
}

}  // namespace
}  // namespace hyper::replication
