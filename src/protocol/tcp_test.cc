#include "hyper/protocol/tcp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "hyper/runtime/memory_socket_factory.h"
#include "hyper/runtime/runtime.h"
#include "hyper/runtime/virtual_clock.h"
#include "hyper/storage/file.h"
#include "hyper/trie/extension.h"
#include "hyper/trie/trie.h"
#include "tests/support/memory_feed.h"

namespace hyper::protocol {
namespace {

using namespace std::chrono_literals;

using hyper::testing::MemFeed;
using hyper::testing::NewFeed;

TEST(Tcp, ReplicateOnceDownloadsEverythingAndEnds) {
  auto w = NewFeed(std::nullopt, 300);
  auto r = NewFeed(w->feed->key(), 0);
  auto server = Replicator::Create().value();
  ASSERT_TRUE(server->AddFeed(w->feed.get()).ok());
  auto port = server->Listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  Status s = ReplicateOnce({r->feed.get()}, "127.0.0.1", *port, 10s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r->feed->length(), 300u);
  EXPECT_EQ(r->feed->Downloaded(), 300u);
  EXPECT_TRUE(server->WaitUntilIdle(5s).ok());
}

TEST(Tcp, SparseGetThroughTheFetcherAndLiveAppends) {
  auto w = NewFeed(std::nullopt, 20);
  auto r = NewFeed(w->feed->key(), 0);
  PeerOptions live;
  live.live = true;
  PeerOptions sparse = live;
  sparse.sparse = true;
  auto server = Replicator::Create().value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), live).ok());
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), sparse).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  EXPECT_EQ(r->feed->length(), 0u);
  Status u = client->Update(r->feed.get(), 5s);
  ASSERT_TRUE(u.ok()) << u.ToString();
  EXPECT_EQ(r->feed->length(), 20u);
  EXPECT_EQ(r->feed->Downloaded(), 1u);  // only the last block
  core::GetOptions go;
  go.timeout = 5s;
  auto block = r->feed->Get(BlockIndex(13), go);
  ASSERT_TRUE(block.ok()) << block.status().ToString();
  EXPECT_EQ(AsString(*block), "block 13");
  EXPECT_EQ(r->feed->Downloaded(), 2u);
  // A block nobody has (past the end): bounded, no hang.
  core::GetOptions quick;
  quick.timeout = 100ms;
  EXPECT_FALSE(r->feed->Get(BlockIndex(20), quick).ok());
}

TEST(Tcp, LiveAppendsReachTheReplicaWithinASecond) {
  auto w = NewFeed(std::nullopt, 5);
  auto r = NewFeed(w->feed->key(), 0);
  PeerOptions live;
  live.live = true;
  auto server = Replicator::Create().value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), live).ok());
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), live).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  ASSERT_TRUE(client->WaitForLength(r->feed.get(), 5, 5s).ok());
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(w->feed->Append(ToBytes("news " + std::to_string(i))).ok());
    ASSERT_TRUE(client->WaitForLength(r->feed.get(), 6 + i, 1s).ok());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
  EXPECT_EQ(AsString(*r->feed->Get(BlockIndex(7))), "news 2");
  EXPECT_EQ(client->connections().size(), 1u);  // live: still connected
}

TEST(Tcp, ManyFeedsOnOneConnection) {
  std::vector<std::unique_ptr<MemFeed>> writers, replicas;
  auto server = Replicator::Create().value();
  std::vector<core::Feed*> mine;
  for (int f = 0; f < 3; ++f) {
    writers.push_back(NewFeed(std::nullopt, 10 * (f + 1)));
    replicas.push_back(NewFeed(writers.back()->feed->key(), 0));
    ASSERT_TRUE(server->AddFeed(writers.back()->feed.get()).ok());
    mine.push_back(replicas.back()->feed.get());
  }
  // A feed only the client has: its channel is never answered, but must not block the rest.
  auto lonely = NewFeed(std::nullopt, 2);
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  for (auto* f : mine) ASSERT_TRUE(client->AddFeed(f).ok());
  ASSERT_TRUE(client->AddFeed(lonely->feed.get()).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  for (int f = 0; f < 3; ++f) {
    ASSERT_TRUE(client->WaitForLength(mine[f], 10 * (f + 1), 5s).ok()) << f;
    EXPECT_EQ(AsString(*mine[f]->Get(BlockIndex(9))), "block 9");
  }
  EXPECT_EQ(client->connections().size(), 1u);
}

TEST(Tcp, DownloadsFromTwoPeersAtOnce) {
  auto w = NewFeed(std::nullopt, 400);
  auto mirror = NewFeed(w->feed->key(), 0);
  auto r = NewFeed(w->feed->key(), 0);
  auto a = Replicator::Create().value();
  ASSERT_TRUE(a->AddFeed(w->feed.get()).ok());
  uint16_t port_a = a->Listen("127.0.0.1", 0).value();
  ASSERT_TRUE(ReplicateOnce({mirror->feed.get()}, "127.0.0.1", port_a, 10s).ok());
  ASSERT_EQ(mirror->feed->Downloaded(), 400u);
  auto b = Replicator::Create().value();
  ASSERT_TRUE(b->AddFeed(mirror->feed.get()).ok());
  uint16_t port_b = b->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get()).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port_a).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port_b).ok());
  ASSERT_TRUE(client->WaitForLength(r->feed.get(), 400, 10s).ok());
  EXPECT_EQ(r->feed->Downloaded(), 400u);
  // The count of a block stored is taken on the loop after the store: final once idle.
  Status idle = client->WaitUntilIdle(5s);
  EXPECT_TRUE(idle.ok()) << idle.ToString();
  auto stats = client->stats(r->feed.get()).value();
  EXPECT_EQ(stats.downloaded_blocks, 400u);  // nothing fetched twice
}

// A wait with no time left that sees an event checks its condition without holding the event
// lock: the check asks the loop, which takes that lock to count every event (it used to
// deadlock when an event came just then). Thousands of zero-timeout waits during a download.
TEST(Tcp, ZeroTimeoutWaitsDuringADownloadNeverHoldUpTheLoop) {
  auto w = NewFeed(std::nullopt, 3000);
  auto r = NewFeed(w->feed->key(), 0);
  PeerOptions live;
  live.live = true;
  auto server = Replicator::Create().value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), live).ok());
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), live).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!client->WaitSynced(r->feed.get(), 0ms).ok()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
  }
  EXPECT_EQ(r->feed->Downloaded(), 3000u);
}

TEST(Tcp, DestroyingTheReplicatorReleasesWaitingReaders) {
  auto w = NewFeed(std::nullopt, 3);
  auto r = NewFeed(w->feed->key(), 0);
  {
    auto server = Replicator::Create().value();
    ASSERT_TRUE(server->AddFeed(w->feed.get()).ok());
    uint16_t port = server->Listen("127.0.0.1", 0).value();
    ASSERT_TRUE(ReplicateOnce({r->feed.get()}, "127.0.0.1", port, 5s).ok());
  }
  ASSERT_TRUE(r->feed->Clear(BlockIndex(0), BlockIndex(1)).ok());  // known length, block 0 gone
  ASSERT_EQ(r->feed->length(), 3u);
  Status got = Status::Ok();
  auto t0 = std::chrono::steady_clock::now();
  {
    PeerOptions sparse;
    sparse.sparse = true;
    auto client = Replicator::Create().value();
    ASSERT_TRUE(client->AddFeed(r->feed.get(), sparse).ok());
    std::thread reader([&] {
      core::GetOptions go;
      go.timeout = 3s;
      got = r->feed->Get(BlockIndex(0), go).status();
    });
    std::this_thread::sleep_for(100ms);
    client.reset();  // nobody will ever send block 0
    reader.join();
  }
  EXPECT_EQ(got.code(), Code::kCancelled) << got.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << got.ToString();
  // The fetcher is gone: a later read fails at once instead of waiting.
  core::GetOptions go;
  go.timeout = 3s;
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_FALSE(r->feed->Get(BlockIndex(0), go).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
}

// Runs what the loop has queued (the deliveries of what a timer wrote): one round trip through
// the loop, whose posts run in order.
void Settle() {
  runtime::Default().loop().Call([] {});
}

TEST(Tcp, KeepAlivesHoldAnIdleConnection) {
  // Over in-memory sockets on virtual time: five timeouts pass with nothing to say but
  // keep-alives, and no time is waited for.
  runtime::EventLoop& loop = runtime::Default().loop();
  runtime::VirtualClock clock(&loop);
  runtime::MemorySocketFactory net(loop);
  auto w = NewFeed(std::nullopt, 1);
  auto r = NewFeed(w->feed->key(), 0);
  ReplicationOptions o;
  o.clock = &clock;
  o.sockets = &net;
  PeerOptions live;
  live.live = true;
  auto server = Replicator::Create(o).value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), live).ok());
  uint16_t port = server->Listen("server", 0).value();
  auto client = Replicator::Create(o).value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), live).ok());
  ASSERT_TRUE(client->Connect("server", port).ok());
  ASSERT_TRUE(client->WaitForLength(r->feed.get(), 1, 10s).ok());
  for (int i = 0; i < 10; ++i) {
    clock.Advance(o.timeout / 2);  // keep-alives go out on both sides ...
    Settle();                      // ... and arrive
  }
  EXPECT_EQ(client->connections().size(), 1u);
  EXPECT_EQ(server->connections().size(), 1u);
}

// A feed holding a hypertrie of `files` keys, and the trie over it.
struct TrieFeed {
  storage::MemoryDirectory dir;
  std::shared_ptr<core::Feed> feed;
  std::unique_ptr<trie::Trie> trie;
};

std::unique_ptr<TrieFeed> NewTrieFeed(std::optional<crypto::PublicKey> key, int files) {
  auto t = std::make_unique<TrieFeed>();
  core::FeedOptions o;
  o.key = key;
  t->feed = std::move(core::Feed::Open(t->dir.factory(), o).value());
  if (files == 0) return t;
  t->trie = std::move(trie::Trie::Open(t->feed).value());
  for (int i = 0; i < files; i++) {
    EXPECT_TRUE(
        t->trie->Put("d" + std::to_string(i % 13) + "/f" + std::to_string(i), ToBytes("v")).ok());
  }
  return t;
}

// Waits (polling the replicator's counters, up to 10 s) until `feed` has downloaded `n` blocks.
bool WaitDownloaded(Replicator& r, core::Feed* feed, uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = r.stats(feed);
    if (st.ok() && st->downloaded_blocks >= n) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

TEST(Tcp, TrieGetExtensionBringsTheWholePathInOneAnswer) {
  auto w = NewTrieFeed(std::nullopt, 2000);
  auto r = NewTrieFeed(w->feed->key(), 0);
  PeerOptions serve;
  serve.live = true;
  serve.hypertrie_extension = true;
  PeerOptions read = serve;
  read.sparse = true;
  auto server = Replicator::Create().value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), serve).ok());
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), read).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  uint64_t head = 0;
  ASSERT_TRUE(client->Update(r->feed.get(), 10s, [&](uint64_t length) { head = length - 1; }).ok());
  ASSERT_EQ(head, w->feed->length() - 1);
  const uint64_t before = client->stats(r->feed.get())->downloaded_blocks;  // the head

  const std::string key = "d12/f1000";  // (1000 % 13 = 12)
  // What the lookup touches at the seed (computed there, all of it local).
  trie::LocalRead all = [&](uint64_t seq) -> std::optional<Bytes> {
    auto b = w->feed->Get(BlockIndex(seq), {.wait = false});
    if (!b.ok()) return std::nullopt;
    return std::move(*b);
  };
  std::vector<uint64_t> path = trie::SeqsOfGet(w->feed->length(), all, head, key);
  std::set<uint64_t> missing;
  for (uint64_t seq : path) {
    if (!r->feed->Has(BlockIndex(seq))) missing.insert(seq);
  }
  ASSERT_GE(missing.size(), 3u);  // several levels: without the extension, several round trips

  auto asked = client->AskTrieGet(r->feed.get(), head, key);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(*asked, 1u);
  ASSERT_TRUE(WaitDownloaded(*client, r->feed.get(), before + missing.size()));
  for (uint64_t seq : path) EXPECT_TRUE(r->feed->Has(BlockIndex(seq))) << seq;
  auto rs = client->stats(r->feed.get()).value();
  EXPECT_EQ(rs.trie_gets_sent, 1u);
  EXPECT_EQ(rs.trie_cache_seqs, missing.size());
  EXPECT_EQ(rs.downloaded_blocks, before + missing.size());  // the path, nothing else
  EXPECT_EQ(server->stats(w->feed.get())->trie_gets_answered, 1u);

  // The lookup now runs on local blocks only: no fetch, the same answer as the seed's.
  auto replica = std::move(trie::Trie::Open(r->feed).value());
  auto got = replica->Checkout(head + 1)->Get(key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_NE(*got, nullptr);
  EXPECT_EQ((*got)->key(), key);
  EXPECT_EQ(client->stats(r->feed.get())->downloaded_blocks, before + missing.size());
}

TEST(Tcp, TrieGetExtensionIsNotSentToPeersWithoutIt) {
  auto w = NewTrieFeed(std::nullopt, 200);
  auto r = NewTrieFeed(w->feed->key(), 0);
  PeerOptions serve;
  serve.live = true;  // no hypertrie_extension: the peer does not list it
  PeerOptions read = serve;
  read.sparse = true;
  read.hypertrie_extension = true;
  auto server = Replicator::Create().value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), serve).ok());
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  auto client = Replicator::Create().value();
  ASSERT_TRUE(client->AddFeed(r->feed.get(), read).ok());
  ASSERT_TRUE(client->Connect("127.0.0.1", port).ok());
  ASSERT_TRUE(client->Update(r->feed.get(), 10s).ok());
  auto asked = client->AskTrieGet(r->feed.get(), r->feed->length() - 1, "d1/f1");
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(*asked, 0u);
  // The ordinary lookup, level by level through the fetcher, still works.
  auto replica = std::move(trie::Trie::Open(r->feed).value());
  auto got = replica->Get("d1/f1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_NE(*got, nullptr);
  // A feed added without the extension cannot ask.
  EXPECT_EQ(server->AskTrieGet(w->feed.get(), 1, "x").status().code(), Code::kInvalidArgument);
}

// The threads of this process, as the kernel counts them.
size_t ThreadCount() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) n++;
  return n;
}

TEST(Tcp, ThreadCountStaysTheSameWithManyReplicatorsAndConnections) {
  // The runtime starts on first use: its loop and executor threads are all there is.
  (void)Replicator::Create().value();
  const size_t before = ThreadCount();
  // main, loop, executor, callbacks
  EXPECT_EQ(before, 1 + 1 + runtime::Default().executor().threads() +
                        runtime::Default().callbacks().threads());

  constexpr int kClients = 40;
  auto w = NewFeed(std::nullopt, 5);
  ReplicationOptions many;
  many.max_connections_per_address = kClients;
  PeerOptions live;
  live.live = true;
  auto server = Replicator::Create(many).value();
  ASSERT_TRUE(server->AddFeed(w->feed.get(), live).ok());
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  std::vector<std::unique_ptr<MemFeed>> feeds;
  std::vector<std::unique_ptr<Replicator>> clients;
  for (int i = 0; i < kClients; ++i) {
    feeds.push_back(NewFeed(w->feed->key(), 0));
    clients.push_back(Replicator::Create().value());
    ASSERT_TRUE(clients.back()->AddFeed(feeds.back()->feed.get(), live).ok());
    ASSERT_TRUE(clients.back()->Connect("127.0.0.1", port).ok());
  }
  for (int i = 0; i < kClients; ++i) {
    Status s = clients[i]->WaitForLength(feeds[i]->feed.get(), 5, 20s);
    ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
  }
  EXPECT_EQ(server->connections().size(), static_cast<size_t>(kClients));
  EXPECT_EQ(ThreadCount(), before);
  // Live appends reach every client; still no thread more.
  ASSERT_TRUE(w->feed->Append(ToBytes("one more")).ok());
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->WaitForLength(feeds[i]->feed.get(), 6, 20s).ok()) << i;
  }
  EXPECT_EQ(ThreadCount(), before);
  clients.clear();
  server.reset();
  EXPECT_EQ(ThreadCount(), before);
}

// A socket that connects to `port` on 127.0.0.1 and says nothing.
int SilentClient(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(Tcp, AcceptedSilentSocketIsDroppedAtTheHandshakeDeadlineOnVirtualTime) {
  runtime::VirtualClock clock(&runtime::Default().loop());
  std::vector<std::string> log;
  ReplicationOptions o;
  o.clock = &clock;
  o.log = [&](const std::string& line) { log.push_back(line); };  // on the loop
  auto server = Replicator::Create(o).value();
  uint16_t port = server->Listen("127.0.0.1", 0).value();
  int fd = SilentClient(port);
  ASSERT_GE(fd, 0);
  // Accepted: its handshake, idle and keep-alive timers are armed.
  ASSERT_TRUE(clock.WaitForPending(3, 30s));
  ASSERT_EQ(server->connections().size(), 1u);
  clock.Advance(o.accept_handshake_timeout - 1ms);
  EXPECT_EQ(server->connections().size(), 1u);
  clock.Advance(1ms);  // the deadline: the timer runs on the loop, Advance waits for it
  EXPECT_EQ(server->connections().size(), 0u);
  char byte;
  // The server sent its handshake message, then closed: we read up to the end of the stream.
  while (::read(fd, &byte, 1) > 0) {
  }
  ::close(fd);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("no handshake within 3000 ms"), std::string::npos) << log[0];
}

TEST(Tcp, SilentPeerTimesOutTheHandshake) {
  // A listener that accepts and never answers; the deadline passes on virtual time.
  runtime::VirtualClock clock(&runtime::Default().loop());
  auto w = NewFeed(std::nullopt, 1);
  ReplicationOptions o;
  o.clock = &clock;
  auto client = Replicator::Create(o).value();
  ASSERT_TRUE(client->AddFeed(w->feed.get()).ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ASSERT_TRUE(client->Connect("127.0.0.1", ntohs(addr.sin_port)).ok());
  EXPECT_EQ(clock.pending(), 3u);  // handshake, idle, keep-alive (the connect's is cancelled)
  clock.Advance(o.handshake_timeout - 1ms);
  EXPECT_EQ(client->connections().size(), 1u);
  clock.Advance(1ms);
  EXPECT_EQ(client->connections().size(), 0u);
  Status s = client->WaitUntilIdle(0ms);
  EXPECT_EQ(s.code(), Code::kTimeout) << s.ToString();
  EXPECT_NE(s.ToString().find("handshake did not finish"), std::string::npos) << s.ToString();
  ::close(fd);
}

}  // namespace
}  // namespace hyper::protocol
