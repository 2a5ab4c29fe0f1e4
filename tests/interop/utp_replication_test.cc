// Replication (hypercore-protocol 8, Noise and all) over uTP instead of TCP: a Replicator given
// a UtpSocketFactory on the socket our DHT node shares with uTP. Between two of ours, and with
// Node hypercore 9 over utp-native 2.5.3 (tests/interop/scripts/utp_peer.js, on 127.0.0.2) in
// both directions. No TCP socket is made: the replicators' only SocketFactory is uTP's.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hyper/core/feed.h"
#include "hyper/crypto/crypto.h"
#include "hyper/protocol/tcp.h"
#include "hyper/runtime/runtime.h"
#include "hyper/storage/file.h"
#include "hyper/swarm/udp_dht.h"
#include "hyper/utp/socket_factory.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using protocol::ReplicationOptions;
using protocol::Replicator;

constexpr size_t kBlockSize = 4096;
constexpr int kBlocks = 256;  // 1 MiB
const std::string kSeedHex = "0707070707070707070707070707070707070707070707070707070707070707";

// Byte j of block i, as core_common.js's blockBytes.
Bytes BlockBytes(uint64_t i, size_t size) {
  Bytes b(size);
  for (size_t j = 0; j < size; ++j)
    b[j] = static_cast<uint8_t>((i * 131 + j * 7 + (j >> 8)) & 0xff);
  return b;
}

crypto::KeyPair SeedKeyPair() { return crypto::KeyPairFromSeed(*FromHex(kSeedHex)); }

struct MemoryFeed {
  storage::MemoryDirectory dir;
  std::unique_ptr<core::Feed> feed;
};

// The seed's feed: with `blocks` blocks and its secret key, or an empty replica.
std::unique_ptr<MemoryFeed> OpenFeed(int blocks, bool writer) {
  auto f = std::make_unique<MemoryFeed>();
  core::FeedOptions o;
  const crypto::KeyPair kp = SeedKeyPair();
  o.key = kp.public_key;
  if (writer) o.secret_key = kp.secret_key;
  f->feed = std::move(core::Feed::Open(f->dir.factory(), o).value());
  for (int i = 0; i < blocks; ++i) EXPECT_TRUE(f->feed->Append(BlockBytes(i, kBlockSize)).ok());
  return f;
}

void ExpectBlocks(core::Feed& feed) {
  ASSERT_EQ(feed.length(), static_cast<uint64_t>(kBlocks));
  for (int i = 0; i < kBlocks; ++i) {
    auto b = feed.Get(BlockIndex(i), {.wait = false});
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().ToString();
    ASSERT_EQ(*b, BlockBytes(i, kBlockSize)) << i;
  }
}

// A DHT node with uTP on its socket (127.0.0.1) and a Replicator whose connections are uTP
// connections on that socket, on the process's runtime.
class UtpPeer {
 public:
  explicit UtpPeer(runtime::UdpSocketFactory::Received on_unclaimed = nullptr) {
    runtime::Runtime& rt = runtime::Default();
    UdpDhtOptions o;
    o.host = "127.0.0.1";
    o.utp = true;
    o.on_unclaimed = std::move(on_unclaimed);
    rt.loop().Call([&] {
      dht_ = UdpDht::Open(rt.udp(), rt.clock(), std::move(o)).value();
      sockets_ = std::make_unique<utp::UtpSocketFactory>(rt.loop(), *dht_->utp(), port());
    });
    ReplicationOptions ro;
    ro.sockets = sockets_.get();
    replicator_ = Replicator::Create(ro).value();
  }
  ~UtpPeer() {
    replicator_.reset();
    runtime::Default().loop().Call([&] {
      sockets_.reset();
      dht_.reset();
    });
  }

  Replicator& replicator() { return *replicator_; }
  uint16_t port() const { return dht_->local().port; }
  utp::MultiplexerStats utp_stats() {
    return runtime::Default().loop().Call([&] { return dht_->utp()->stats(); });
  }

 private:
  std::unique_ptr<UdpDht> dht_;
  std::unique_ptr<utp::UtpSocketFactory> sockets_;
  std::unique_ptr<Replicator> replicator_;
};

class UtpReplication : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init().ok()); }
  hyper::testing::TempDir dir_;
};

TEST_F(UtpReplication, OursToOursOverUtp) {
  auto source = OpenFeed(kBlocks, true);
  auto replica = OpenFeed(0, false);
  UtpPeer a;
  UtpPeer b;
  ASSERT_TRUE(a.replicator().AddFeed(source->feed.get()).ok());
  ASSERT_TRUE(b.replicator().AddFeed(replica->feed.get()).ok());
  ASSERT_EQ(a.replicator().Listen("127.0.0.1", 0).value(), a.port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.replicator().Connect("127.0.0.1", a.port()).ok());
  Status s = b.replicator().WaitForLength(replica->feed.get(), kBlocks, 10s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ExpectBlocks(*replica->feed);
  EXPECT_TRUE(b.replicator().WaitUntilIdle(5s).ok());
  EXPECT_GT(a.utp_stats().claimed, static_cast<uint64_t>(kBlocks));
  std::cout << "ours -> ours over uTP: " << kBlocks << " blocks of " << kBlockSize << " bytes in "
            << ms << " ms\n";
}

TEST_F(UtpReplication, NodeServesWeFetchOverUtp) {
  std::promise<UdpEndpoint> ready;
  bool told = false;
  auto replica = OpenFeed(0, false);
  UtpPeer ours([&](const UdpEndpoint& from, ByteView d) {
    if (!told && std::string(d.begin(), d.end()) == "ready") {
      told = true;
      ready.set_value(from);
    }
  });
  ASSERT_TRUE(ours.replicator().AddFeed(replica->feed.get()).ok());
  auto node = std::async(std::launch::async, [&] {
    return hyper::testing::RunNode("utp_peer", {json{{"role", "feed-serve"},
                                                     {"dir", dir_.Sub("node")},
                                                     {"seed", kSeedHex},
                                                     {"blocks", kBlocks},
                                                     {"blockSize", kBlockSize},
                                                     {"host", "127.0.0.1"},
                                                     {"port", ours.port()}}
                                                    .dump()});
  });
  auto server = ready.get_future();
  ASSERT_EQ(server.wait_for(10s), std::future_status::ready) << "the Node server never said ready";
  const UdpEndpoint to = server.get();
  ASSERT_TRUE(ours.replicator().Connect(to.host, to.port).ok());
  Status s = ours.replicator().WaitForLength(replica->feed.get(), kBlocks, 10s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectBlocks(*replica->feed);
  EXPECT_TRUE(ours.replicator().WaitUntilIdle(5s).ok());
  auto result = node.get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)["length"].get<int>(), kBlocks);
  EXPECT_EQ((*result)["uploaded"].get<int>(), kBlocks);
}

TEST_F(UtpReplication, WeServeNodeFetchesOverUtp) {
  auto source = OpenFeed(kBlocks, true);
  UtpPeer ours;
  ASSERT_TRUE(ours.replicator().AddFeed(source->feed.get()).ok());
  ASSERT_EQ(ours.replicator().Listen("127.0.0.1", 0).value(), ours.port());
  auto result = hyper::testing::RunNode("utp_peer", {json{{"role", "feed-fetch"},
                                                          {"dir", dir_.Sub("node")},
                                                          {"key", ToHex(SeedKeyPair().public_key)},
                                                          {"blocks", kBlocks},
                                                          {"blockSize", kBlockSize},
                                                          {"host", "127.0.0.1"},
                                                          {"port", ours.port()}}
                                                         .dump()});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)["length"].get<int>(), kBlocks);
  EXPECT_EQ((*result)["downloaded"].get<int>(), kBlocks);
  EXPECT_TRUE((*result)["ok"].get<bool>());
  EXPECT_TRUE(ours.replicator().WaitUntilIdle(5s).ok());
  std::cout << "ours -> Node over uTP: " << kBlocks << " blocks of " << kBlockSize << " bytes in "
            << (*result)["ms"].get<int64_t>() << " ms (Node's count, from its start)\n";
}

}  // namespace
}  // namespace hyper::swarm
