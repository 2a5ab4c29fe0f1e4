// Deduplication across cores with a Node hypercore 9.12 peer serving the feed
// (tests/interop/scripts/protocol_peer.js, unchanged): Node answers our hash-only Requests as the
// reference does, the blocks our store already holds in another core are copied and verified
// against the served feed's tree, and Node uploads only the others.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "hyper/corestore/corestore.h"
#include "hyper/protocol/tcp.h"
#include "hyper/replication/store_dedup.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::replication {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr size_t kBlockSize = 16384;
constexpr uint64_t kBlocks = 20;
constexpr uint64_t kShared = 18;
const std::string kSeedHex = "0707070707070707070707070707070707070707070707070707070707070707";

// Byte j of block i, as core_common.js's blockBytes.
Bytes BlockBytes(uint64_t i, size_t size) {
  Bytes b(size);
  for (size_t j = 0; j < size; ++j) {
    b[j] = static_cast<uint8_t>((i * 131 + j * 7 + (j >> 8)) & 0xff);
  }
  return b;
}

uint16_t ReadPort(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0) return static_cast<uint16_t>(port);
    std::this_thread::sleep_for(5ms);
  }
  return 0;
}

TEST(DedupInterop, NodeServesAFeedWhoseBlocksTheStoreMostlyHolds) {
  ASSERT_TRUE(crypto::Init().ok());
  testing::TempDir tmp;
  auto node = std::async(std::launch::async, [&] {
    return hyper::testing::RunNode("protocol_peer", {json{{"role", "serve"},
                                                          {"dir", tmp.Sub("node")},
                                                          {"seed", kSeedHex},
                                                          {"blocks", kBlocks},
                                                          {"blockSize", kBlockSize},
                                                          {"live", false},
                                                          {"portfile", tmp.Sub("port")}}
                                                         .dump()});
  });
  const uint16_t port = ReadPort(tmp.Sub("port"));
  ASSERT_NE(port, 0);

  // Our store: another core already holds the first 18 blocks' bytes.
  auto store = corestore::Corestore::OpenDirectory(tmp.Sub("store")).value();
  auto other = store->Default("other").value();
  for (uint64_t i = 0; i < kShared; ++i) ASSERT_TRUE(other->Append(BlockBytes(i, kBlockSize)).ok());
  corestore::CoreOptions co;
  co.key = crypto::KeyPairFromSeed(*FromHex(kSeedHex)).public_key;
  auto feed = store->Get(co).value();

  auto rep = protocol::Replicator::Create().value();
  protocol::PeerOptions po;
  po.dedup = StoreDedup::For(*store);
  ASSERT_NE(po.dedup, nullptr);
  ASSERT_TRUE(rep->AddFeed(feed.get(), po).ok());
  ASSERT_TRUE(rep->Connect("127.0.0.1", port).ok());
  Status synced = rep->WaitSynced(feed.get(), 15s);
  ASSERT_TRUE(synced.ok()) << synced.ToString();
  auto stats = rep->stats(feed.get()).value();
  // Both sides end the non-live replication; Node then reports what it uploaded.
  Status idle = rep->WaitUntilIdle(10s);
  EXPECT_TRUE(idle.ok()) << idle.ToString();

  EXPECT_EQ(feed->length(), kBlocks);
  EXPECT_EQ(feed->Downloaded(), kBlocks);
  for (uint64_t i = 0; i < kBlocks; ++i) {
    EXPECT_EQ(feed->Get(BlockIndex(i)).value(), BlockBytes(i, kBlockSize)) << i;
  }
  auto audit = feed->Audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->valid, kBlocks);
  EXPECT_EQ(audit->invalid, 0u);
  EXPECT_EQ(stats.copied_blocks, kShared);
  EXPECT_EQ(stats.downloaded_blocks, kBlocks - kShared);
  EXPECT_EQ(stats.hash_requests, kBlocks);

  ASSERT_EQ(node.wait_for(20s), std::future_status::ready);
  auto out = node.get();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->value("uploaded", -1), static_cast<int>(kBlocks - kShared)) << out->dump();
  EXPECT_FALSE(out->contains("streamError")) << out->dump();
}

}  // namespace
}  // namespace hyper::replication
