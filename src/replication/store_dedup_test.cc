#include "hyper/replication/store_dedup.h"

#include <gtest/gtest.h>

#include <fstream>

#include "hyper/replication/drive_replication.h"
#include "hyper/replication/store_feeds.h"
#include "tests/support/temp_dir.h"

namespace hyper::replication {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kBlock = 512 * 1024;  // Drive::WriteFile cuts files into blocks of this size

Bytes Content(uint64_t size, uint32_t seed) {
  Bytes b(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<uint8_t>(x);
  }
  return b;
}

bool WaitUntil(protocol::Replicator& rep, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  uint64_t seen = rep.events();
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    rep.WaitForEvent(seen, std::min<std::chrono::milliseconds>(left, 100ms));
    seen = rep.events();
  }
  return true;
}

// Drive B (served by another store): 18 blocks of shared.bin, the same bytes as a file of drive
// A, and 2 blocks of its own: 90 % of its content is held by the replica's store already.
struct Fixture {
  testing::TempDir tmp;
  Bytes shared = Content(18 * kBlock, 1);
  Bytes own = Content(2 * kBlock, 2);
  std::unique_ptr<corestore::Corestore> wstore;
  std::unique_ptr<drive::Drive> b;
  std::unique_ptr<StoreFeeds> served;
  std::unique_ptr<protocol::Replicator> server;
  uint16_t port = 0;

  Fixture() {
    wstore = corestore::Corestore::OpenDirectory(tmp.Sub("writer")).value();
    b = drive::Drive::Open(*wstore).value();
    EXPECT_TRUE(b->WriteFile("/shared.bin", shared).ok());
    EXPECT_TRUE(b->WriteFile("/own.bin", own).ok());
    EXPECT_EQ(b->content_feed()->length(), 20u);
    served = std::make_unique<StoreFeeds>(*wstore, StoreFeedsOptions{});
    protocol::ReplicationOptions ro;
    ro.feed_provider = served->provider();
    server = protocol::Replicator::Create(ro).value();
    port = server->Listen("127.0.0.1", 0).value();
  }

  // A store holding drive A: a copy of shared.bin under another name, and a file of its own.
  std::unique_ptr<corestore::Corestore> StoreWithA(const std::string& name,
                                                   std::unique_ptr<drive::Drive>* a) {
    auto store = corestore::Corestore::OpenDirectory(tmp.Sub(name)).value();
    drive::DriveOptions o;
    o.namespace_name = "a";
    *a = drive::Drive::Open(*store, o).value();
    EXPECT_TRUE((*a)->WriteFile("/copy-of-shared.bin", shared).ok());
    EXPECT_TRUE((*a)->WriteFile("/unrelated.bin", Content(3 * kBlock, 3)).ok());
    return store;
  }

  struct Outcome {
    protocol::ReplicationStats stats;
    uint64_t wire_received = 0;  // every byte the replica received on its connection
  };

  // Replicates B into `store` and checks that it reads back byte-identical and verified.
  Outcome ReplicateB(corestore::Corestore& store) {
    auto client = protocol::Replicator::Create().value();
    protocol::PeerOptions live;
    live.live = true;  // keeps the connection (and its byte counts) after the download
    auto follower = DriveReplication::Start(store, *client, b->key(), live).value();
    EXPECT_TRUE(client->Connect("127.0.0.1", port).ok());
    core::Feed* content = nullptr;
    EXPECT_TRUE(WaitUntil(*client, [&] {
      drive::Drive* d = follower->drive(b->key());
      if (d == nullptr || !d->content_feed()) return false;
      content = d->content_feed().get();
      // The counts are updated on the loop just after each block lands.
      auto st = client->stats(content);
      return content->length() == 20 && content->Downloaded() == 20 && st.ok() &&
             st->downloaded_blocks + st->copied_blocks == 20;
    }));
    Outcome out;
    if (content == nullptr) return out;
    out.stats = client->stats(content).value();
    for (const auto& c : client->connections()) out.wire_received += c.bytes_received;
    drive::Drive* d = follower->drive(b->key());
    auto s = d->ReadFile("/shared.bin");
    auto o = d->ReadFile("/own.bin");
    EXPECT_TRUE(s.ok() && *s == shared);
    EXPECT_TRUE(o.ok() && *o == own);
    auto audit = content->Audit();  // every block rehashed against B's tree
    EXPECT_TRUE(audit.ok());
    if (audit.ok()) {
      EXPECT_EQ(audit->valid, 20u);
      EXPECT_EQ(audit->invalid, 0u);
    }
    return out;
  }
};

TEST(StoreDedup, ABlockHeldByAnotherDriveOfTheStoreIsCopiedNotDownloaded) {
  Fixture f;
  // Without A: all of B comes over the wire.
  auto empty = corestore::Corestore::OpenDirectory(f.tmp.Sub("empty")).value();
  auto cold = f.ReplicateB(*empty);
  EXPECT_EQ(cold.stats.downloaded_bytes, 20 * kBlock);
  EXPECT_EQ(cold.stats.copied_blocks, 0u);
  // (Hashes are asked for once B's first blocks are stored: they are indexed too.)

  std::unique_ptr<drive::Drive> a;
  auto store = f.StoreWithA("with-a", &a);
  auto warm = f.ReplicateB(*store);
  // Only own.bin's two blocks are downloaded; shared.bin's 18 are copied from A.
  EXPECT_EQ(warm.stats.copied_blocks, 18u);
  EXPECT_EQ(warm.stats.copied_bytes, 18 * kBlock);
  EXPECT_EQ(warm.stats.downloaded_bytes, 2 * kBlock);
  EXPECT_EQ(warm.stats.hash_requests, 20u);
  // Everything the connection carried (handshake, metadata, hashes, proofs, data): about 10 %.
  EXPECT_LT(warm.wire_received, cold.wire_received * 12 / 100);
  EXPECT_GT(warm.wire_received, 2 * kBlock);
  std::printf("B (%llu bytes of content): received %llu bytes without A, %llu with A\n",
              static_cast<unsigned long long>(20 * kBlock),
              static_cast<unsigned long long>(cold.wire_received),
              static_cast<unsigned long long>(warm.wire_received));
}

// Never wrong bytes: an index entry that names another block, and a held block whose bytes were
// damaged on disk behind the store's back, are both caught (by the source's leaf, and by B's
// tree when the copy is stored) and those blocks are downloaded instead.
TEST(StoreDedup, AWrongEntryOrADamagedCopyFallsBackToTheNetwork) {
  Fixture f;
  std::unique_ptr<drive::Drive> a;
  auto store = f.StoreWithA("with-a", &a);
  auto index = store->leaf_index();
  const crypto::Hash a_content = a->content_feed()->discovery_key();
  // The entry of shared block 0 now names block 5 (another block).
  auto leaf0 = a->content_feed()->LeafNodes(BlockIndex(0), BlockIndex(1)).value()[0];
  index->Forget(leaf0.hash, corestore::BlockLocation{a_content, 0});
  index->Add(a_content, 5, leaf0.hash, leaf0.size);
  // The bytes of A's block 3 are damaged in its data file (A was written in this process, so
  // it trusts them without rehashing).
  const uint64_t offset = a->content_feed()->ByteOffsetOf(BlockIndex(3)).value();
  {
    std::fstream data(
        f.tmp.Sub("with-a/" + corestore::Corestore::CoreDirectory(a_content)) + "/data",
        std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(data.good());
    data.seekp(static_cast<std::streamoff>(offset + 1000));
    data.write("damaged", 7);
  }
  auto out = f.ReplicateB(*store);
  std::printf("copied %llu downloaded %llu blocks, hash requests %llu\n",
              static_cast<unsigned long long>(out.stats.copied_blocks),
              static_cast<unsigned long long>(out.stats.downloaded_blocks),
              static_cast<unsigned long long>(out.stats.hash_requests));
  EXPECT_EQ(out.stats.copied_blocks, 16u);
  EXPECT_EQ(out.stats.downloaded_bytes, 4 * kBlock);
  EXPECT_EQ(out.stats.rejected_blocks, 0u);
}

}  // namespace
}  // namespace hyper::replication
