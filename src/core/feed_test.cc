#include "hyper/core/feed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>

#include "hyper/core/block_reader.h"
#include "src/core/merkle_tree.h"

namespace hyper::core {
namespace {

Bytes Block(uint64_t i, size_t size) {
  Bytes b(size);
  for (size_t j = 0; j < size; ++j) b[j] = static_cast<uint8_t>((i * 31 + j * 7) & 0xff);
  return b;
}

TEST(CoreFeed, AppendGetReopen) {
  storage::MemoryDirectory dir;
  crypto::PublicKey key;
  {
    auto feed = Feed::Open(dir.factory());
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    Feed& f = **feed;
    EXPECT_TRUE(f.writable());
    EXPECT_EQ(f.length(), 0u);
    key = f.key();
    EXPECT_EQ(f.discovery_key(), crypto::DiscoveryKey(key));
    for (uint64_t i = 0; i < 10; ++i) {
      auto r = f.Append(Block(i, i * 10));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, i + 1);
    }
    Bytes a = Block(10, 5), b = Block(11, 0), c = Block(12, 100);
    ByteView batch[] = {a, b, c};
    ASSERT_EQ(*f.Append(batch), 13u);
    EXPECT_EQ(f.byte_length(), 450u + 105u);
    EXPECT_EQ(f.Get(BlockIndex(3)).value(), Block(3, 30));
    EXPECT_EQ(f.Get(BlockIndex(13)).status().code(), Code::kOutOfRange);
    ASSERT_TRUE(f.Close().ok());
  }
  auto feed = Feed::Open(dir.factory());
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  Feed& f = **feed;
  EXPECT_EQ(f.key(), key);
  EXPECT_EQ(f.length(), 13u);
  EXPECT_EQ(f.byte_length(), 555u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(f.Get(BlockIndex(i)).value(), Block(i, i * 10));
  EXPECT_EQ(f.Get(BlockIndex(12)).value(), Block(12, 100));
  EXPECT_TRUE(f.Get(BlockIndex(11)).value().empty());
  ASSERT_EQ(*f.Append(Block(13, 1)), 14u);
  EXPECT_EQ(f.Get(BlockIndex(13)).value(), Block(13, 1));
}

TEST(CoreFeed, Seek) {
  storage::MemoryDirectory dir;
  auto feed = Feed::Open(dir.factory());
  ASSERT_TRUE(feed.ok());
  Feed& f = **feed;
  std::vector<uint64_t> sizes = {3, 0, 5, 1, 0, 0, 7, 2, 9};
  for (uint64_t i = 0; i < sizes.size(); ++i) ASSERT_TRUE(f.Append(Block(i, sizes[i])).ok());
  uint64_t total = 0;
  for (auto s : sizes) total += s;
  ASSERT_EQ(f.byte_length(), total);
  for (uint64_t off = 1; off < total; ++off) {
    auto r = f.Seek(ByteOffset(off));
    ASSERT_TRUE(r.ok()) << off;
    uint64_t acc = 0;
    uint64_t want = 0;
    for (uint64_t i = 0; i < sizes.size(); ++i) {
      if (acc + sizes[i] > off) {
        want = i;
        break;
      }
      acc += sizes[i];
    }
    EXPECT_EQ(r->first.value, want) << off;
    EXPECT_EQ(r->second, off - acc) << off;
  }
  EXPECT_EQ(f.Seek(ByteOffset(total))->first.value, sizes.size());
  EXPECT_EQ(f.Seek(ByteOffset(total + 1)).status().code(), Code::kOutOfRange);
}

TEST(CoreFeed, LeafNodesAreEachBlocksHashAndSizeAndNeedTheTreeNodes) {
  storage::MemoryDirectory wdir, rdir;
  auto w = Feed::Open(wdir.factory());
  ASSERT_TRUE(w.ok());
  Feed& writer = **w;
  std::vector<Bytes> blocks;
  for (uint64_t i = 0; i < 9; ++i) blocks.push_back(Block(i, 3 * i));  // block 0 is empty
  std::vector<ByteView> views(blocks.begin(), blocks.end());
  ASSERT_TRUE(writer.Append(std::span<const ByteView>(views)).ok());
  auto leaves = writer.LeafNodes(BlockIndex(2), BlockIndex(9));
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  ASSERT_EQ(leaves->size(), 7u);
  for (uint64_t k = 0; k < 7; ++k) {
    EXPECT_EQ((*leaves)[k].index.value, 2 * (2 + k));
    EXPECT_EQ((*leaves)[k].hash, crypto::LeafHash(blocks[2 + k]));
    EXPECT_EQ((*leaves)[k].size, blocks[2 + k].size());
  }
  EXPECT_TRUE(writer.LeafNodes(BlockIndex(4), BlockIndex(4))->empty());
  EXPECT_EQ(writer.LeafNodes(BlockIndex(8), BlockIndex(10)).status().code(), Code::kOutOfRange);
  // A replica holds the leaf of a block it received, not of the others.
  FeedOptions ro;
  ro.key = writer.key();
  auto r = Feed::Open(rdir.factory(), ro);
  ASSERT_TRUE(r.ok());
  Feed& replica = **r;
  auto proof = writer.MakeProof(BlockIndex(5));
  ASSERT_TRUE(proof.ok());
  ASSERT_TRUE(replica.Put(BlockIndex(5), blocks[5], *proof).ok());
  EXPECT_EQ(replica.LeafNodes(BlockIndex(5), BlockIndex(6))->front().hash,
            crypto::LeafHash(blocks[5]));
  EXPECT_EQ(replica.LeafNodes(BlockIndex(5), BlockIndex(7)).status().code(), Code::kNotFound);
}

TEST(CoreFeed, ProofAndPutReplicate) {
  storage::MemoryDirectory wdir, rdir;
  auto w = Feed::Open(wdir.factory());
  ASSERT_TRUE(w.ok());
  Feed& writer = **w;
  for (uint64_t i = 0; i < 37; ++i) ASSERT_TRUE(writer.Append(Block(i, 50 + i)).ok());
  FeedOptions ro;
  ro.key = writer.key();
  auto r = Feed::Open(rdir.factory(), ro);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Feed& replica = **r;
  EXPECT_FALSE(replica.writable());
  EXPECT_EQ(replica.length(), 0u);
  // Fetch in a scattered order, each with the digest the replica would send.
  std::vector<uint64_t> order = {20, 3, 36, 0, 19, 21, 8};
  for (uint64_t i = 0; i < 37; ++i) {
    if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  }
  for (uint64_t i : order) {
    ProofOptions po;
    po.digest = replica.Digest(BlockIndex(i));
    auto proof = writer.MakeProof(BlockIndex(i), po);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    Bytes data = *writer.Get(BlockIndex(i));
    // A tampered block is refused and nothing is stored.
    Bytes bad = data;
    bad[0] ^= 1;
    EXPECT_FALSE(replica.Put(BlockIndex(i), bad, *proof).ok());
    EXPECT_FALSE(replica.Has(BlockIndex(i)));
    Status s = replica.Put(BlockIndex(i), data, *proof);
    ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
    EXPECT_TRUE(replica.Has(BlockIndex(i)));
    EXPECT_EQ(replica.length(), 37u);
  }
  for (uint64_t i = 0; i < 37; ++i)
    EXPECT_EQ(*replica.Get(BlockIndex(i)), *writer.Get(BlockIndex(i)));
  EXPECT_TRUE(replica.Has(BlockIndex(0), BlockIndex(37)));
  EXPECT_EQ(replica.Append(AsBytes("x")).status().code(), Code::kNotWritable);
  auto sig = replica.Signature(BlockIndex(0));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(replica.VerifySignature(sig->index, sig->signature).ok());
}

TEST(CoreFeed, ForgedSignatureIsRefused) {
  storage::MemoryDirectory wdir, odir, rdir;
  auto w = Feed::Open(wdir.factory());
  auto other = Feed::Open(odir.factory());
  ASSERT_TRUE(w.ok() && other.ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*w)->Append(Block(i, 10)).ok());
    ASSERT_TRUE((*other)->Append(Block(i, 10)).ok());
  }
  FeedOptions ro;
  ro.key = (*w)->key();
  auto r = Feed::Open(rdir.factory(), ro);
  ASSERT_TRUE(r.ok());
  auto proof = (*other)->MakeProof(BlockIndex(1));
  ASSERT_TRUE(proof.ok());
  Status s = (*r)->Put(BlockIndex(1), Block(1, 10), *proof);
  EXPECT_EQ(s.code(), Code::kInvalidSignature);
  EXPECT_EQ((*r)->length(), 0u);
}

TEST(CoreFeed, ClearAndAudit) {
  storage::MemoryDirectory dir;
  auto feed = Feed::Open(dir.factory());
  ASSERT_TRUE(feed.ok());
  Feed& f = **feed;
  for (uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(f.Append(Block(i, 100)).ok());
  ASSERT_TRUE(f.Clear(BlockIndex(5), BlockIndex(8)).ok());
  EXPECT_FALSE(f.Has(BlockIndex(5)));
  EXPECT_FALSE(f.Has(BlockIndex(0), BlockIndex(20)));
  EXPECT_TRUE(f.Has(BlockIndex(8)));
  EXPECT_EQ(f.Downloaded(), 17u);
  EXPECT_EQ(f.Get(BlockIndex(6)).status().code(), Code::kNotFound);
  auto report = f.Audit();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->valid, 17u);
  EXPECT_EQ(report->invalid, 0u);
  // Damage block 9 in the data file. A block appended by this process is trusted while it stays
  // open (reads skip the hash); the audit rehashes anyway, and after a reopen the first read
  // of the block checks it.
  auto data = dir.factory()("data");
  ASSERT_TRUE(data.ok());
  uint8_t x = 0xee;
  ASSERT_TRUE((*data)->Write(9 * 100 + 3, ByteView(&x, 1)).ok());
  ASSERT_TRUE(f.Close().ok());
  auto reopened = Feed::Open(dir.factory());
  ASSERT_TRUE(reopened.ok());
  Feed& g = **reopened;
  EXPECT_EQ(g.Get(BlockIndex(9)).status().code(), Code::kCorruption);
  // An audit reports and changes nothing: the next one finds the same bad block.
  for (int run = 0; run < 2; ++run) {
    report = g.Audit();
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->valid, 16u);
    EXPECT_EQ(report->invalid, 1u);
    EXPECT_TRUE(g.Has(BlockIndex(9)));
  }
  // A repairing audit marks it missing (to be fetched again); the cleared blocks stay missing.
  report = g.Audit(/*repair=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->invalid, 1u);
  EXPECT_EQ(report->restored, 0u);
  EXPECT_FALSE(g.Has(BlockIndex(9)));
  EXPECT_EQ(g.length(), 20u);
  report = g.Audit();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->valid, 16u);
  EXPECT_EQ(report->invalid, 0u);
}

TEST(CoreFeed, ListenersAndFetcher) {
  storage::MemoryDirectory dir;
  auto feed = Feed::Open(dir.factory());
  ASSERT_TRUE(feed.ok());
  Feed& f = **feed;
  std::vector<uint64_t> seen;
  uint64_t h = f.OnAppend([&](uint64_t len) { seen.push_back(len); });
  ASSERT_TRUE(f.Append(AsBytes("a")).ok());
  ASSERT_TRUE(f.Append(AsBytes("b")).ok());
  f.RemoveListener(h);
  ASSERT_TRUE(f.Append(AsBytes("c")).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
  int calls = 0;
  f.SetBlockFetcher([&](BlockIndex, std::chrono::milliseconds) {
    ++calls;
    return Status::Timeout("no peers");
  });
  EXPECT_EQ(f.Get(BlockIndex(7)).status().code(), Code::kTimeout);
  GetOptions no_wait;
  no_wait.wait = false;
  EXPECT_EQ(f.Get(BlockIndex(7), no_wait).status().code(), Code::kOutOfRange);
  EXPECT_EQ(calls, 1);
}

TEST(CoreFeed, KeyOptions) {
  storage::MemoryDirectory dir;
  auto kp = crypto::KeyPairFromSeed(Bytes(32, 7));
  FeedOptions o;
  o.key = kp.public_key;
  o.secret_key = kp.secret_key;
  {
    auto f = Feed::Open(dir.factory(), o);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->key(), kp.public_key);
    ASSERT_TRUE((*f)->Append(AsBytes("hello")).ok());
  }
  auto other = crypto::KeyPairFromSeed(Bytes(32, 8));
  FeedOptions wrong;
  wrong.key = other.public_key;
  EXPECT_EQ(Feed::Open(dir.factory(), wrong).status().code(), Code::kExists);
  auto f = Feed::Open(dir.factory());
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->writable());
  EXPECT_EQ((*f)->length(), 1u);
  storage::MemoryDirectory empty;
  FeedOptions no_create;
  no_create.create_if_missing = false;
  EXPECT_EQ(Feed::Open(empty.factory(), no_create).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hyper::core

namespace hyper::core {
namespace {

TEST(CoreFeed, GetRangeReadsPartsOfBlocksAndStillCatchesCorruption) {
  storage::MemoryDirectory dir;
  Bytes block(100000);
  for (size_t i = 0; i < block.size(); i++) block[i] = static_cast<uint8_t>(i * 7);
  {
    auto feed = std::move(Feed::Open(dir.factory())).value();
    ASSERT_TRUE(feed->Append(AsBytes("first")).ok());
    ASSERT_TRUE(feed->Append(block).ok());
    auto part = feed->GetRange(BlockIndex(1), 5000, 10);
    ASSERT_TRUE(part.ok()) << part.status().ToString();
    EXPECT_EQ(*part, Bytes(block.begin() + 5000, block.begin() + 5010));
    EXPECT_EQ(*feed->GetRange(BlockIndex(1), 99995, 10), Bytes(block.end() - 5, block.end()));
    EXPECT_EQ(feed->GetRange(BlockIndex(1), 100001, 1).status().code(), Code::kOutOfRange);
    EXPECT_EQ(feed->GetRange(BlockIndex(2), 0, 1).status().code(), Code::kOutOfRange);
    EXPECT_EQ(AsString(*feed->GetRange(BlockIndex(0), 1, 3)), "irs");
  }
  // Flip a byte of block 1 on "disk": after reopening, the first read of it is checked.
  auto data = std::move(dir.factory()("data")).value();
  uint8_t b = 0;
  ASSERT_TRUE(data->Read(5 + 42, MutableByteView(&b, 1)).ok());
  b ^= 0xff;
  ASSERT_TRUE(data->Write(5 + 42, ByteView(&b, 1)).ok());
  auto feed = std::move(Feed::Open(dir.factory())).value();
  EXPECT_EQ(feed->GetRange(BlockIndex(1), 5000, 10).status().code(), Code::kCorruption);
  EXPECT_EQ(feed->Get(BlockIndex(1)).status().code(), Code::kCorruption);
  EXPECT_EQ(AsString(*feed->GetRange(BlockIndex(0), 0, 5)), "first");
  auto report = feed->Audit();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->invalid, 1u);
}

// Where each byte offset lands, computed by walking the sizes (the answer Seek must give).
// Offset 0 is block 0 even when that block is empty, as in the reference.
std::pair<uint64_t, uint64_t> ModelSeek(const std::vector<uint64_t>& sizes, uint64_t off) {
  if (off == 0) return {0, 0};
  uint64_t acc = 0;
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    if (acc + sizes[i] > off) return {i, off - acc};
    acc += sizes[i];
  }
  return {sizes.size(), 0};
}

Result<uint64_t> AppendSized(Feed& f, const std::vector<uint64_t>& sizes, uint64_t first,
                             uint64_t count) {
  std::vector<Bytes> blocks;
  for (uint64_t i = first; i < first + count; ++i) blocks.push_back(Block(i, sizes[i]));
  std::vector<ByteView> views(blocks.begin(), blocks.end());
  return f.Append(views);
}

TEST(CoreFeed, BigBatchesGiveTheSameTreeAsOneBlockAtATime) {
  // Batches above kParallelHashMinBytes are hashed on several threads, written with one
  // vectored write: the tree and data files must be those of appending block by block.
  std::vector<uint64_t> sizes;
  for (uint64_t i = 0; i < 64; ++i) sizes.push_back(65536);
  for (uint64_t i = 0; i < 50; ++i) sizes.push_back(i % 5 == 0 ? 0 : 7000 + i * 311);
  sizes.push_back(3);
  auto kp = crypto::KeyPairFromSeed(Bytes(32, 3));
  FeedOptions o;
  o.key = kp.public_key;
  o.secret_key = kp.secret_key;
  storage::MemoryDirectory batched_dir, single_dir;
  auto batched = std::move(Feed::Open(batched_dir.factory(), o)).value();
  auto single = std::move(Feed::Open(single_dir.factory(), o)).value();
  ASSERT_TRUE(AppendSized(*batched, sizes, 0, 64).ok());
  ASSERT_TRUE(AppendSized(*batched, sizes, 64, 50).ok());
  ASSERT_TRUE(AppendSized(*batched, sizes, 114, 1).ok());
  MerkleTree model;
  std::vector<TreeNode> ignored;
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(single->Append(Block(i, sizes[i])).ok());
    model.Next(Block(i, sizes[i]), &ignored);
  }
  EXPECT_EQ(*batched->RootHashes(sizes.size()), model.roots());
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(*batched->Get(BlockIndex(i)), Block(i, sizes[i])) << i;
  }
  ASSERT_TRUE(batched->Close().ok());
  ASSERT_TRUE(single->Close().ok());
  for (const char* name : {"tree", "data"}) {
    auto a = std::move(batched_dir.factory()(name)).value();
    auto b = std::move(single_dir.factory()(name)).value();
    uint64_t size = *a->Size();
    ASSERT_EQ(size, *b->Size()) << name;
    EXPECT_EQ(*storage::ReadBytes(*a, 0, size), *storage::ReadBytes(*b, 0, size)) << name;
  }
  auto reopened = std::move(Feed::Open(batched_dir.factory())).value();
  auto audit = reopened->Audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->valid, sizes.size());
}

// A first read locates the blocks of its aligned group of 16 too (from their leaves): their
// later first reads use those positions and are still checked against their leaves.
TEST(CoreFeed, NeighboursLocatedByAFirstReadAreStillChecked) {
  std::vector<uint64_t> sizes;
  for (uint64_t i = 0; i < 100; ++i) sizes.push_back(i % 9 == 0 ? 0 : (i * 13) % 29 + 1);
  storage::MemoryDirectory dir;
  {
    auto f = std::move(Feed::Open(dir.factory())).value();
    ASSERT_TRUE(AppendSized(*f, sizes, 0, sizes.size()).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  uint64_t offset_40 = 0;
  for (uint64_t i = 0; i < 40; ++i) offset_40 += sizes[i];
  auto f = std::move(Feed::Open(dir.factory())).value();
  ASSERT_EQ(*f->Get(BlockIndex(37)), Block(37, sizes[37]));  // locates 32..47
  // Block 40's bytes change on disk after it was located, before it is read.
  auto data = std::move(dir.factory()("data")).value();
  uint8_t b = 0;
  ASSERT_TRUE(data->Read(offset_40 + 1, MutableByteView(&b, 1)).ok());
  b ^= 0x5a;
  ASSERT_TRUE(data->Write(offset_40 + 1, ByteView(&b, 1)).ok());
  EXPECT_EQ(f->Get(BlockIndex(40)).status().code(), Code::kCorruption);
  for (uint64_t i : {32, 33, 36, 38, 39, 41, 45, 47, 48, 0, 99}) {
    ASSERT_EQ(*f->Get(BlockIndex(i)), Block(i, sizes[i])) << i;
  }
}

TEST(CoreFeed, ReadsAndSeeksAfterReopenMatchAModel) {
  // After a reopen the feed knows no block position: reads and seeks learn them as they go.
  // Every answer, cold, partly learned or fully learned, must be the model's.
  std::vector<uint64_t> sizes;
  for (uint64_t i = 0; i < 3000; ++i) sizes.push_back((i * 37) % 11 == 0 ? 0 : (i * 7) % 23 + 1);
  storage::MemoryDirectory dir;
  {
    auto f = std::move(Feed::Open(dir.factory())).value();
    for (uint64_t i = 0; i < sizes.size(); i += 250)
      ASSERT_TRUE(AppendSized(*f, sizes, i, 250).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  uint64_t total = 0;
  for (auto s : sizes) total += s;
  auto f = std::move(Feed::Open(dir.factory())).value();
  std::mt19937_64 rng(5);
  auto check_seeks = [&](int n) {
    for (int k = 0; k < n; ++k) {
      uint64_t off = rng() % (total + 1);
      auto r = f->Seek(ByteOffset(off));
      ASSERT_TRUE(r.ok()) << off << ": " << r.status().ToString();
      auto want = ModelSeek(sizes, off);
      ASSERT_EQ(r->first.value, want.first) << off;
      ASSERT_EQ(r->second, want.second) << off;
    }
  };
  check_seeks(300);  // cold
  for (int k = 0; k < 500; ++k) {
    uint64_t i = rng() % sizes.size();
    ASSERT_EQ(*f->Get(BlockIndex(i)), Block(i, sizes[i])) << i;
    if (sizes[i] > 2) {
      ASSERT_EQ(*f->GetRange(BlockIndex(i), 1, 1), Bytes(1, Block(i, sizes[i])[1])) << i;
    }
  }
  check_seeks(2000);  // partly learned
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(*f->Get(BlockIndex(i)), Block(i, sizes[i])) << i;
  }
  check_seeks(2000);  // every position known
  for (uint64_t off = 0; off <= total; off += 97) {
    auto want = ModelSeek(sizes, off);
    auto r = f->Seek(ByteOffset(off));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::make_pair(r->first.value, r->second), want) << off;
  }
}

TEST(CoreFeed, ConcurrentReadersWhileAppending) {
  std::vector<uint64_t> sizes;
  for (uint64_t i = 0; i < 6000; ++i) sizes.push_back(i % 50 == 0 ? 40000 : (i * 13) % 200);
  storage::MemoryDirectory dir;
  {
    auto f = std::move(Feed::Open(dir.factory())).value();
    ASSERT_TRUE(AppendSized(*f, sizes, 0, 2000).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  auto f = std::move(Feed::Open(dir.factory())).value();  // nothing learned yet
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t));
      while (!stop.load()) {
        uint64_t len = f->length();
        uint64_t i = rng() % len;
        auto b = f->Get(BlockIndex(i));
        if (!b.ok() || *b != Block(i, sizes[i])) ++wrong;
        auto s = f->Seek(ByteOffset(rng() % (f->byte_length() + 1)));
        if (!s.ok()) ++wrong;
        ++reads;
      }
    });
  }
  for (uint64_t i = 2000; i < sizes.size(); i += 400) {
    ASSERT_TRUE(AppendSized(*f, sizes, i, 400).ok());
  }
  while (reads.load() < 20000) std::this_thread::yield();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong.load(), 0u);
  for (uint64_t i = 0; i < sizes.size(); ++i) ASSERT_EQ(*f->Get(BlockIndex(i)), Block(i, sizes[i]));
}

TEST(CoreFeed, SparseReplicaReadsAndSeeksWhatItHolds) {
  std::vector<uint64_t> sizes;
  for (uint64_t i = 0; i < 200; ++i) sizes.push_back(i % 9 == 0 ? 0 : 10 + (i * 17) % 90);
  storage::MemoryDirectory wdir, rdir;
  auto writer = std::move(Feed::Open(wdir.factory())).value();
  for (uint64_t i = 0; i < sizes.size(); i += 40)
    ASSERT_TRUE(AppendSized(*writer, sizes, i, 40).ok());
  FeedOptions ro;
  ro.key = writer->key();
  std::vector<uint64_t> order;
  std::mt19937_64 rng(11);
  for (int k = 0; k < 80; ++k) order.push_back(rng() % sizes.size());
  std::vector<bool> held(sizes.size());
  for (int round = 0; round < 2; ++round) {
    auto replica = std::move(Feed::Open(rdir.factory(), ro)).value();
    for (size_t k = 0; k < order.size(); ++k) {
      uint64_t i = order[k];
      if (round == 0) {
        ProofOptions po;
        po.digest = replica->Digest(BlockIndex(i));
        auto proof = writer->MakeProof(BlockIndex(i), po);
        ASSERT_TRUE(proof.ok());
        ASSERT_TRUE(replica->Put(BlockIndex(i), Block(i, sizes[i]), *proof).ok()) << i;
        held[i] = true;
      }
      for (uint64_t j = 0; j < sizes.size(); ++j) {
        auto b = replica->Get(BlockIndex(j));
        if (held[j]) {
          ASSERT_TRUE(b.ok()) << j << ": " << b.status().ToString();
          ASSERT_EQ(*b, Block(j, sizes[j]));
        } else {
          ASSERT_TRUE(b.status().code() == Code::kNotFound ||
                      b.status().code() == Code::kOutOfRange)
              << j;
        }
      }
      for (int s = 0; s < 20; ++s) {
        uint64_t off = rng() % (replica->byte_length() + 1);
        auto r = replica->Seek(ByteOffset(off));
        if (r.ok()) {
          EXPECT_EQ(std::make_pair(r->first.value, r->second), ModelSeek(sizes, off)) << off;
        } else {
          EXPECT_EQ(r.status().code(), Code::kNotFound) << off;
        }
      }
    }
    ASSERT_TRUE(replica->Close().ok());
  }
}

// A directory whose "tree" file counts its reads (how many nodes a read of a block needs).
struct TreeReadCounter {
  storage::MemoryDirectory dir;
  std::shared_ptr<std::atomic<uint64_t>> reads = std::make_shared<std::atomic<uint64_t>>(0);

  class CountingFile : public storage::File {
   public:
    CountingFile(std::unique_ptr<storage::File> inner, std::shared_ptr<std::atomic<uint64_t>> n)
        : inner_(std::move(inner)), n_(std::move(n)) {}
    Status Read(uint64_t offset, MutableByteView out) override {
      if (n_) ++*n_;
      return inner_->Read(offset, out);
    }
    Status Write(uint64_t offset, ByteView data) override { return inner_->Write(offset, data); }
    Status Del(uint64_t offset, uint64_t length) override { return inner_->Del(offset, length); }
    Status Truncate(uint64_t size) override { return inner_->Truncate(size); }
    Result<uint64_t> Size() override { return inner_->Size(); }
    Status Sync() override { return inner_->Sync(); }
    Status Close() override { return inner_->Close(); }
    Status Unlink() override { return inner_->Unlink(); }

   private:
    std::unique_ptr<storage::File> inner_;
    std::shared_ptr<std::atomic<uint64_t>> n_;
  };

  storage::FileFactory factory() {
    return [inner = dir.factory(),
            n = reads](const std::string& name) -> Result<std::unique_ptr<storage::File>> {
      ASSIGN_OR_RETURN(auto f, inner(name));
      return std::unique_ptr<storage::File>(
          new CountingFile(std::move(f), name == "tree" ? n : nullptr));
    };
  }
};

uint64_t OffsetOfBlock(uint64_t size_each, uint64_t block) { return size_each * block; }

TEST(CoreFeed, ByteOffsetHintProvenByANeighbourSkipsTheRoots) {
  TreeReadCounter dir;
  const uint64_t n = 1000, size = 50;
  {
    auto f = std::move(Feed::Open(dir.factory())).value();
    for (uint64_t i = 0; i < n; ++i) ASSERT_TRUE(f->Append(Block(i, size)).ok());
    ASSERT_TRUE(f->Close().ok());
  }
  // Block 736 after block 735 was read (so block 735's end is remembered): without a hint its
  // offset comes from a root; with the right hint only its leaf is read.
  auto count_get = [&](std::optional<uint64_t> hint) {
    auto f = std::move(Feed::Open(dir.factory())).value();
    EXPECT_EQ(*f->Get(BlockIndex(735)), Block(735, size));
    dir.reads->store(0);
    GetOptions o;
    o.byte_offset = hint;
    EXPECT_EQ(*f->Get(BlockIndex(736), o), Block(736, size));
    uint64_t first = dir.reads->load();
    dir.reads->store(0);
    EXPECT_EQ(*f->Get(BlockIndex(736)), Block(736, size));  // remembered: no node
    const Bytes b = Block(736, size);
    EXPECT_EQ(*f->GetRange(BlockIndex(736), 3, 4), Bytes(b.begin() + 3, b.begin() + 7));
    EXPECT_EQ(dir.reads->load(), 0u);
    auto seek = f->Seek(ByteOffset(OffsetOfBlock(size, 736) + 7));
    EXPECT_TRUE(seek.ok() && seek->first.value == 736 && seek->second == 7);
    return first;
  };
  uint64_t without = count_get(std::nullopt);
  uint64_t with = count_get(OffsetOfBlock(size, 736));
  EXPECT_EQ(with, 1u);  // the leaf
  EXPECT_LT(with, without);
  // An unproven right hint (no neighbour known): the same bytes, located through the roots
  // as without a hint, then remembered.
  auto f = std::move(Feed::Open(dir.factory())).value();
  GetOptions o;
  o.byte_offset = OffsetOfBlock(size, 613);
  EXPECT_EQ(*f->GetRange(BlockIndex(613), 0, 1000, o), Block(613, size));
  dir.reads->store(0);
  EXPECT_EQ(*f->Get(BlockIndex(613)), Block(613, size));
  EXPECT_EQ(dir.reads->load(), 0u);
}

TEST(CoreFeed, WrongByteOffsetHintsNeverChangeWhatIsReadOrRemembered) {
  // Blocks 2 and 5 hold the same bytes, so a hint of block 2's offset for block 5 matches
  // block 5's leaf hash: the bytes are right, but the place is not and must not be remembered.
  storage::MemoryDirectory dir;
  // Likewise the small blocks 1 and 7.
  std::vector<uint64_t> sizes = {10, 20, 3000, 40, 50, 3000, 70, 20, 90};
  auto content = [&](uint64_t i) { return Block(i == 5 ? 2 : i == 7 ? 1 : i, sizes[i]); };
  std::vector<uint64_t> offsets;
  {
    auto f = std::move(Feed::Open(dir.factory())).value();
    for (uint64_t i = 0; i < sizes.size(); ++i) {
      offsets.push_back(f->byte_length());
      ASSERT_TRUE(f->Append(content(i)).ok());
    }
    ASSERT_TRUE(f->Close().ok());
  }
  const uint64_t total = offsets.back() + sizes.back();
  for (uint64_t wrong : {offsets[2], offsets[5] + 1, offsets[4], uint64_t{0}, total, total - 1,
                         UINT64_MAX, UINT64_MAX - 10}) {
    SCOPED_TRACE(wrong);
    auto f = std::move(Feed::Open(dir.factory())).value();
    GetOptions o;
    o.byte_offset = wrong;
    EXPECT_EQ(*f->Get(BlockIndex(5), o), content(5));
    const Bytes b = content(5);
    EXPECT_EQ(*f->GetRange(BlockIndex(5), 1, 2, o), Bytes(b.begin() + 1, b.begin() + 3));
    if (wrong != offsets[6]) {
      o.byte_offset = wrong;
      EXPECT_EQ(*f->Get(BlockIndex(6), o), content(6));
    }
    o.byte_offset = wrong == offsets[2] ? offsets[1] : wrong;
    EXPECT_EQ(*f->Get(BlockIndex(7), o), content(7));
    for (uint64_t i = 0; i < sizes.size(); ++i) {
      EXPECT_EQ(*f->Get(BlockIndex(i)), content(i)) << i;
      auto s = f->Seek(ByteOffset(offsets[i] + 1));
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(s->first.value, i);
      EXPECT_EQ(s->second, 1u);
    }
    auto audit = f->Audit();
    ASSERT_TRUE(audit.ok());
    EXPECT_EQ(audit->invalid, 0u);
  }
}

// ---- Open-time recovery of damaged files (issue 21): length comes from what the stored
// signatures prove, never from the bitfield alone, and signed history is never cut silently.

constexpr uint64_t kHistory = 22;

FeedOptions WriterOptions() {
  static const auto kp = crypto::KeyPairFromSeed(Bytes(32, 7));
  FeedOptions o;
  o.key = kp.public_key;
  o.secret_key = kp.secret_key;
  return o;
}

// 22 appends of one block each (22 signed lengths), closed cleanly. Returns the roots of the
// full tree.
std::vector<TreeNode> BuildHistory(storage::MemoryDirectory& dir) {
  auto f = std::move(Feed::Open(dir.factory(), WriterOptions())).value();
  for (uint64_t i = 0; i < kHistory; ++i) EXPECT_TRUE(f->Append(Block(i, 50 + i)).ok());
  auto roots = std::move(f->RootHashes(kHistory)).value();
  EXPECT_TRUE(f->Close().ok());
  return roots;
}

void Cut(storage::MemoryDirectory& dir, const char* name, uint64_t size) {
  auto file = std::move(dir.factory()(name)).value();
  ASSERT_TRUE(file->Truncate(size).ok());
}

uint64_t SizeOf(storage::MemoryDirectory& dir, const char* name) {
  return *std::move(dir.factory()(name)).value()->Size();
}

// The feed opens at the full signed length, every block it has reads right, and an append
// extends the same history (the first 22 blocks keep their roots).
void ExpectFullHistory(storage::MemoryDirectory& dir, const std::vector<TreeNode>& roots,
                       uint64_t missing_from, const std::string& what) {
  auto f = Feed::Open(dir.factory(), WriterOptions());
  ASSERT_TRUE(f.ok()) << what << ": " << f.status().ToString();
  Feed& feed = **f;
  EXPECT_EQ(feed.length(), kHistory) << what;
  EXPECT_TRUE(feed.damage().ok()) << what;
  for (uint64_t i = 0; i < kHistory; ++i) {
    auto b = feed.Get(BlockIndex(i));
    if (i < missing_from) {
      EXPECT_TRUE(b.ok() && *b == Block(i, 50 + i)) << what << ": block " << i;
    } else {
      EXPECT_EQ(b.status().code(), Code::kNotFound) << what << ": block " << i;
    }
  }
  ASSERT_TRUE(feed.Append(Block(99, 9)).ok()) << what;
  EXPECT_EQ(*feed.RootHashes(kHistory), roots) << what << ": the append forked the history";
}

TEST(CoreRecovery, LostBitfieldIsRebuiltFromSignaturesAndTree) {
  for (uint64_t cut : {uint64_t{0}, uint64_t{32}, uint64_t{1000}}) {
    storage::MemoryDirectory dir;
    auto roots = BuildHistory(dir);
    Cut(dir, "bitfield", cut);
    ExpectFullHistory(dir, roots, kHistory, "bitfield cut to " + std::to_string(cut));
    // And it was written back: a second open needs no rebuild and sees the same.
    auto again = std::move(Feed::Open(dir.factory(), WriterOptions())).value();
    EXPECT_EQ(again->length(), kHistory + 1);
    EXPECT_EQ(again->Downloaded(), kHistory + 1);
  }
}

TEST(CoreRecovery, CutDataMakesBlocksMissingNotTheLogShorter) {
  storage::MemoryDirectory dir;
  auto roots = BuildHistory(dir);
  Cut(dir, "data", SizeOf(dir, "data") - 1);
  ExpectFullHistory(dir, roots, kHistory - 1, "data cut by one byte");

  storage::MemoryDirectory empty;
  roots = BuildHistory(empty);
  Cut(empty, "data", 0);
  ExpectFullHistory(empty, roots, 0, "data emptied");
}

TEST(CoreRecovery, LostKeyFileIsNotAReset) {
  storage::MemoryDirectory dir;
  auto roots = BuildHistory(dir);
  Cut(dir, "key", 0);
  ExpectFullHistory(dir, roots, kHistory, "key cut");
  // Without any key the feed cannot be checked: an error, not a new empty feed.
  storage::MemoryDirectory keyless;
  BuildHistory(keyless);
  Cut(keyless, "key", 0);
  Cut(keyless, "secret_key", 0);
  FeedOptions none;
  none.create_if_missing = false;
  auto f = Feed::Open(keyless.factory(), none);
  EXPECT_EQ(f.status().code(), Code::kCorruption) << f.status().ToString();
  EXPECT_EQ(SizeOf(keyless, "bitfield"), 32u + 3584u) << "nothing was reset";
}

// A crash after the signature but before the bitfield: the batch is complete and signed, so it
// is kept; a stray bitfield bit with nothing behind it is dropped without fuss.
TEST(CoreRecovery, SignedTailBeyondTheBitfieldIsKeptAndStrayBitsDropped) {
  storage::MemoryDirectory dir;
  auto roots = BuildHistory(dir);
  {
    // Roll the bitfield back to length 20, as if the last two commits never reached it.
    storage::MemoryDirectory old;
    auto f = std::move(Feed::Open(old.factory(), WriterOptions())).value();
    for (uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(f->Append(Block(i, 50 + i)).ok());
    ASSERT_TRUE(f->Close().ok());
    Bytes bits = *storage::ReadBytes(**old.factory()("bitfield"), 0, SizeOf(old, "bitfield"));
    auto bf = std::move(dir.factory()("bitfield")).value();
    ASSERT_TRUE(bf->Truncate(0).ok());
    ASSERT_TRUE(bf->Write(0, bits).ok());
  }
  ExpectFullHistory(dir, roots, kHistory, "bitfield two commits behind");

  storage::MemoryDirectory stray;
  BuildHistory(stray);
  {
    // Tree bit of node 63 (a root over blocks 0..31): claims 32 blocks that nothing backs.
    auto bf = std::move(stray.factory()("bitfield")).value();
    uint8_t byte = 0;
    ASSERT_TRUE(bf->Read(32 + 1024 + 63 / 8, MutableByteView(&byte, 1)).ok());
    byte |= static_cast<uint8_t>(0x80 >> (63 % 8));
    ASSERT_TRUE(bf->Write(32 + 1024 + 63 / 8, ByteView(&byte, 1)).ok());
  }
  auto f = Feed::Open(stray.factory(), WriterOptions());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->length(), kHistory);
  EXPECT_TRUE((*f)->damage().ok());
}

// The newest signature (or the tree nodes it needs) is damaged while the bitfield says the
// longer history was committed: the feed does not open silently shorter. Opened on purpose it
// is read-only at the proven length, and only an explicit DropUnprovableTail lets it be written.
TEST(CoreRecovery, UnprovableCommittedTailMakesTheFeedReadOnlyUntilRepaired) {
  struct Case {
    const char* file;
    bool half;
  };
  for (Case c : {Case{"signatures", false}, Case{"tree", true}}) {
    storage::MemoryDirectory dir;
    auto roots = BuildHistory(dir);
    uint64_t size = SizeOf(dir, c.file);
    Cut(dir, c.file, c.half ? size / 2 : size - 1);
    std::string what = std::string(c.file) + (c.half ? " cut in half" : " cut by one byte");

    auto refused = Feed::Open(dir.factory(), WriterOptions());
    ASSERT_FALSE(refused.ok()) << what;
    EXPECT_EQ(refused.status().code(), Code::kCorruption) << what;
    EXPECT_NE(refused.status().message().find("22 blocks were signed and stored"),
              std::string::npos)
        << refused.status().ToString();

    FeedOptions o = WriterOptions();
    o.open_damaged = true;
    auto f = std::move(Feed::Open(dir.factory(), o)).value();
    const uint64_t proven = f->length();
    EXPECT_LT(proven, kHistory) << what;
    EXPECT_GT(proven, 0u) << what;
    EXPECT_EQ(f->claimed_length(), kHistory) << what;
    EXPECT_EQ(f->damage().code(), Code::kCorruption) << what;
    // What verifies reads right (block 0 always: its leaf and the first signature survive);
    // a block whose leaf was cut off is an error, never wrong bytes.
    EXPECT_EQ(*f->Get(BlockIndex(0)), Block(0, 50)) << what;
    for (uint64_t i = 0; i < proven; ++i) {
      auto b = f->Get(BlockIndex(i));
      if (b.ok()) {
        EXPECT_EQ(*b, Block(i, 50 + i)) << what << ": block " << i;
      } else {
        EXPECT_EQ(b.status().code(), Code::kNotFound) << what << ": " << b.status().ToString();
      }
    }
    EXPECT_EQ(f->Append(Block(99, 9)).status().code(), Code::kCorruption) << what;
    ASSERT_TRUE(f->Close().ok());
    // Nothing was written: the store is still refused.
    EXPECT_FALSE(Feed::Open(dir.factory(), WriterOptions()).ok()) << what;

    f = std::move(Feed::Open(dir.factory(), o)).value();
    for (uint64_t i = 0; i < proven; ++i) (void)f->Get(BlockIndex(i));  // remembers positions
    ASSERT_TRUE(f->DropUnprovableTail().ok()) << what;
    EXPECT_TRUE(f->damage().ok());
    // A writer keeps the longest signed prefix it holds whole (with half a tree, the leaves of
    // the last proven blocks are gone too).
    const uint64_t kept = f->length();
    EXPECT_LE(kept, proven) << what;
    EXPECT_GT(kept, 0u) << what;
    EXPECT_EQ(f->Downloaded(), kept) << what;
    ASSERT_TRUE(f->Append(Block(99, 9)).ok()) << what;
    EXPECT_EQ(*f->Get(BlockIndex(kept)), Block(99, 9)) << what;
    ASSERT_TRUE(f->Close().ok());
    auto reopened = Feed::Open(dir.factory(), WriterOptions());
    ASSERT_TRUE(reopened.ok()) << what << ": " << reopened.status().ToString();
    EXPECT_EQ((*reopened)->length(), kept + 1) << what;
    for (uint64_t i = 0; i < kept; ++i) {
      auto b = (*reopened)->Get(BlockIndex(i));
      ASSERT_TRUE(b.ok()) << what << ": block " << i << ": " << b.status().ToString();
      EXPECT_EQ(*b, Block(i, 50 + i)) << what;
    }
    EXPECT_EQ(*(*reopened)->Get(BlockIndex(kept)), Block(99, 9)) << what;
  }
}

// Counts the writes and syncs every file of a directory receives.
struct IoCounts {
  std::atomic<int> writes{0};
  std::atomic<int> syncs{0};
  std::atomic<int> secret_key_syncs{0};  // counted in syncs too
};

class CountingFile : public storage::File {
 public:
  CountingFile(std::unique_ptr<storage::File> inner, IoCounts* counts, bool secret_key)
      : inner_(std::move(inner)), counts_(counts), secret_key_(secret_key) {}
  Status Read(uint64_t offset, MutableByteView out) override { return inner_->Read(offset, out); }
  Status Write(uint64_t offset, ByteView data) override {
    ++counts_->writes;
    return inner_->Write(offset, data);
  }
  Status WriteV(uint64_t offset, std::span<const ByteView> parts) override {
    ++counts_->writes;
    return inner_->WriteV(offset, parts);
  }
  Status Del(uint64_t offset, uint64_t length) override {
    ++counts_->writes;
    return inner_->Del(offset, length);
  }
  Status Truncate(uint64_t size) override {
    ++counts_->writes;
    return inner_->Truncate(size);
  }
  Result<uint64_t> Size() override { return inner_->Size(); }
  Status Sync() override {
    ++counts_->syncs;
    if (secret_key_) ++counts_->secret_key_syncs;
    return inner_->Sync();
  }
  Status Close() override { return inner_->Close(); }
  Status Unlink() override { return inner_->Unlink(); }

 private:
  std::unique_ptr<storage::File> inner_;
  IoCounts* counts_;
  bool secret_key_;
};

storage::FileFactory Counting(storage::FileFactory inner, IoCounts* counts) {
  return [inner = std::move(inner),
          counts](const std::string& name) -> Result<std::unique_ptr<storage::File>> {
    ASSIGN_OR_RETURN(auto file, inner(name));
    return std::unique_ptr<storage::File>(
        new CountingFile(std::move(file), counts, name == "secret_key"));
  };
}

// A read-only open recovers as a writer's does, in memory only: a lost bitfield is rebuilt
// and every block reads right (one at a time and streamed), a damaged feed opens at its proven
// length when asked, and nothing is written or synced, so the store is not 'repaired' by a
// reader behind the writer's back: the next writer's open finds it as it was.
TEST(CoreRecovery, ReadOnlyOpensRecoverInMemoryAndWriteNothing) {
  storage::MemoryDirectory lost;
  BuildHistory(lost);
  Cut(lost, "bitfield", 0);
  {
    IoCounts counts;
    FeedOptions o;
    o.read_only = true;
    auto f = Feed::Open(Counting(lost.factory(), &counts), o);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ((*f)->length(), kHistory);
    for (uint64_t i = 0; i < kHistory; ++i) EXPECT_EQ(*(*f)->Get(BlockIndex(i)), Block(i, 50 + i));
    BlockReader reader(**f, BlockIndex(0), BlockIndex(kHistory));
    Bytes streamed, expected;
    for (uint64_t i = 0; i < kHistory; ++i) {
      Bytes b = Block(i, 50 + i);
      expected.insert(expected.end(), b.begin(), b.end());
    }
    while (true) {
      auto chunk = reader.Next();
      ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (chunk->empty()) break;
      streamed.insert(streamed.end(), chunk->begin(), chunk->end());
    }
    EXPECT_EQ(streamed, expected);
    EXPECT_EQ((*f)->Append(Block(99, 9)).status().code(), Code::kNotWritable);
    EXPECT_TRUE((*f)->Flush().ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(counts.writes.load(), 0);
    EXPECT_EQ(counts.syncs.load(), 0);
  }
  EXPECT_EQ(SizeOf(lost, "bitfield"), 0u) << "a reader wrote the rebuilt bitfield";

  storage::MemoryDirectory damaged;
  BuildHistory(damaged);
  Cut(damaged, "tree", SizeOf(damaged, "tree") / 2);
  const uint64_t tree_size = SizeOf(damaged, "tree");
  const uint64_t bitfield_size = SizeOf(damaged, "bitfield");
  {
    IoCounts counts;
    FeedOptions o;
    o.read_only = true;
    EXPECT_EQ(Feed::Open(Counting(damaged.factory(), &counts), o).status().code(),
              Code::kCorruption);
    o.open_damaged = true;
    auto f = Feed::Open(Counting(damaged.factory(), &counts), o);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ((*f)->damage().code(), Code::kCorruption);
    EXPECT_LT((*f)->length(), kHistory);
    EXPECT_EQ(*(*f)->Get(BlockIndex(0)), Block(0, 50));
    EXPECT_EQ((*f)->DropUnprovableTail().code(), Code::kNotWritable);
    EXPECT_EQ((*f)->Audit(/*repair=*/true).status().code(), Code::kNotWritable);
    EXPECT_TRUE((*f)->Audit(/*repair=*/false).ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_EQ(counts.writes.load(), 0);
    EXPECT_EQ(counts.syncs.load(), 0);
  }
  EXPECT_EQ(SizeOf(damaged, "tree"), tree_size);
  EXPECT_EQ(SizeOf(damaged, "bitfield"), bitfield_size);
  auto writer = Feed::Open(damaged.factory(), WriterOptions());
  EXPECT_EQ(writer.status().code(), Code::kCorruption)
      << "still damaged: the reader repaired nothing";
}

// A replica opened with defer_create over files created on first write leaves nothing until a
// verified block arrives: a refused (tampered) block creates nothing either. The first good
// block writes the headers and the key with it, and the replica reopens from what it stored.
TEST(CoreFeed, DeferredReplicaIsCreatedByItsFirstVerifiedBlock) {
  storage::MemoryDirectory wdir, rdir;
  auto writer = std::move(Feed::Open(wdir.factory(), WriterOptions())).value();
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(writer->Append(Block(i, 100 + i)).ok());
  FeedOptions ro;
  ro.key = writer->key();
  ro.defer_create = true;
  const char* kFiles[] = {"key", "secret_key", "bitfield", "signatures", "tree", "data"};
  {
    auto r = Feed::Open(storage::CreatedOnFirstWrite(rdir.factory()), ro);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)->length(), 0u);
    ProofOptions po;
    po.digest = (*r)->Digest(BlockIndex(3));
    auto proof = writer->MakeProof(BlockIndex(3), po);
    ASSERT_TRUE(proof.ok());
    Bytes bad = Block(3, 103);
    bad[0] ^= 1;
    EXPECT_FALSE((*r)->Put(BlockIndex(3), bad, *proof).ok());
    ASSERT_TRUE((*r)->Flush().ok());
    ASSERT_TRUE((*r)->Close().ok());
  }
  for (const char* name : kFiles) EXPECT_FALSE(rdir.Exists(name)) << name;
  {
    auto r = Feed::Open(storage::CreatedOnFirstWrite(rdir.factory()), ro);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ProofOptions po;
    po.digest = (*r)->Digest(BlockIndex(3));
    auto proof = writer->MakeProof(BlockIndex(3), po);
    ASSERT_TRUE(proof.ok());
    ASSERT_TRUE((*r)->Put(BlockIndex(3), Block(3, 103), *proof).ok());
    ASSERT_TRUE((*r)->Close().ok());
  }
  EXPECT_FALSE(rdir.Exists("secret_key"));
  FeedOptions again;
  again.key = writer->key();
  again.create_if_missing = false;
  auto r = Feed::Open(rdir.factory(), again);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->length(), 5u);
  EXPECT_TRUE((*r)->Has(BlockIndex(3)));
  EXPECT_FALSE((*r)->Has(BlockIndex(2)));
  EXPECT_EQ(*(*r)->Get(BlockIndex(3), {.wait = false}), Block(3, 103));
}

TEST(CoreFeed, AFeedOnlyReadIsClosedWithoutAWriteOrASync) {
  storage::MemoryDirectory dir;
  {
    auto feed = Feed::Open(dir.factory());
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    for (uint64_t i = 0; i < 40; ++i) ASSERT_TRUE((*feed)->Append(Block(i, 1000 + i)).ok());
  }
  // Reopened, read (first reads: every block hashed), sought and closed: nothing written.
  {
    IoCounts counts;
    auto feed = Feed::Open(Counting(dir.factory(), &counts));
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    for (uint64_t i = 0; i < 40; ++i) {
      auto block = (*feed)->Get(BlockIndex(i));
      ASSERT_TRUE(block.ok()) << block.status().ToString();
      EXPECT_EQ(*block, Block(i, 1000 + i));
    }
    ASSERT_TRUE((*feed)->Seek(ByteOffset(5000)).ok());
    ASSERT_TRUE((*feed)->Close().ok());
    EXPECT_EQ(counts.writes.load(), 0);
    EXPECT_EQ(counts.syncs.load(), 0);
  }
  // As a corestore opens a name-derived core: the secret key given, and a secret_key file that
  // forgets what it is given (rewritten at every open). Reading it still syncs nothing.
  {
    crypto::SecretKey secret;
    {
      auto bytes = std::move(dir.factory()("secret_key")).value();
      ASSERT_TRUE(bytes->Read(0, secret).ok());
    }
    storage::FileFactory forgetful = [inner = dir.factory()](const std::string& name) {
      if (name == "secret_key")
        return Result<std::unique_ptr<storage::File>>(storage::NewMemoryFile());
      return inner(name);
    };
    IoCounts counts;
    FeedOptions options;
    options.secret_key = secret;
    auto feed = Feed::Open(Counting(forgetful, &counts), options);
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    EXPECT_TRUE((*feed)->writable());
    for (uint64_t i = 0; i < 40; ++i) ASSERT_TRUE((*feed)->Get(BlockIndex(i)).ok());
    counts.writes = 0;  // the forgetful secret_key's write
    ASSERT_TRUE((*feed)->Close().ok());
    EXPECT_EQ(counts.writes.load(), 0);
    // None but the in-memory secret_key's (no file, no system call).
    EXPECT_EQ(counts.syncs.load(), counts.secret_key_syncs.load());
  }
  // A feed that was written is still synced by Close, once.
  {
    IoCounts counts;
    auto feed = Feed::Open(Counting(dir.factory(), &counts));
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    ASSERT_TRUE((*feed)->Append(Block(40, 10)).ok());
    EXPECT_EQ(counts.syncs.load(), 0);
    ASSERT_TRUE((*feed)->Close().ok());
    EXPECT_GE(counts.syncs.load(), 4);  // data, tree, signatures, bitfield
  }
}

// The same damage repaired from a peer that holds the signed history: the peer's head block,
// with the proof it sends (nodes the damaged feed does not trust, and the newest signature),
// gives the feed its whole length back; the blocks in between are fetched again, and the feed
// is writable with nothing cut. A peer with a shorter history cannot repair it.
TEST(CoreRecovery, UnprovableTailIsRepairedFromAPeersSignedHistory) {
  for (const char* file : {"signatures", "tree"}) {
    storage::MemoryDirectory dir, peer_dir, short_dir;
    auto roots = BuildHistory(dir);
    BuildHistory(peer_dir);  // the same key: the same signed history
    {
      auto s = std::move(Feed::Open(short_dir.factory(), WriterOptions())).value();
      for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(s->Append(Block(i, 50 + i)).ok());
      ASSERT_TRUE(s->Close().ok());
    }
    Cut(dir, file, SizeOf(dir, file) / 2);
    FeedOptions o = WriterOptions();
    o.open_damaged = true;
    auto f = std::move(Feed::Open(dir.factory(), o)).value();
    ASSERT_FALSE(f->damage().ok()) << file;
    auto peer = std::move(Feed::Open(peer_dir.factory(), WriterOptions())).value();
    auto short_peer = std::move(Feed::Open(short_dir.factory(), WriterOptions())).value();
    auto send = [&](Feed& from, uint64_t i) {
      auto block = from.Get(BlockIndex(i));
      EXPECT_TRUE(block.ok());
      ProofOptions po;
      po.digest = f->Digest(BlockIndex(i));
      auto proof = from.MakeProof(BlockIndex(i), po);
      EXPECT_TRUE(proof.ok()) << proof.status().ToString();
      return f->Put(BlockIndex(i), *block, *proof);
    };
    const uint64_t proven = f->length();
    Status refused = send(*short_peer, 9);
    EXPECT_EQ(refused.code(), Code::kCorruption) << file << ": " << refused.ToString();
    EXPECT_FALSE(f->damage().ok()) << file << ": a shorter history repairs nothing";
    EXPECT_EQ(f->length(), proven);

    ASSERT_TRUE(send(*peer, kHistory - 1).ok()) << file;
    EXPECT_TRUE(f->damage().ok()) << file;
    EXPECT_EQ(f->length(), kHistory) << file;
    EXPECT_EQ(*f->RootHashes(kHistory), roots) << file << ": the same history";
    for (uint64_t i = 0; i < kHistory; ++i) {
      if (!f->Has(BlockIndex(i))) {
        Status s = send(*peer, i);
        ASSERT_TRUE(s.ok()) << file << ": block " << i << ": " << s.ToString();
      }
    }
    ASSERT_TRUE(f->Append(Block(99, 9)).ok()) << file;
    ASSERT_TRUE(f->Close().ok());
    auto reopened = Feed::Open(dir.factory(), WriterOptions());
    ASSERT_TRUE(reopened.ok()) << file << ": " << reopened.status().ToString();
    EXPECT_EQ((*reopened)->length(), kHistory + 1) << file;
    EXPECT_EQ(*(*reopened)->RootHashes(kHistory), roots) << file;
    for (uint64_t i = 0; i < kHistory; ++i) {
      auto b = (*reopened)->Get(BlockIndex(i));
      ASSERT_TRUE(b.ok()) << file << ": block " << i << ": " << b.status().ToString();
      EXPECT_EQ(*b, Block(i, 50 + i)) << file;
    }
    EXPECT_EQ(*(*reopened)->Get(BlockIndex(kHistory)), Block(99, 9)) << file;
  }
}

}  // namespace
}  // namespace hyper::core
