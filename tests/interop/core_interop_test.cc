// The core against Node hypercore 9.12, run in the same test: identical files for identical
// appends, and each side opening, auditing, reading and extending what the other wrote.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hyper/core/feed.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::core {
namespace {

using Batches = std::vector<std::vector<uint64_t>>;
const char* const kFiles[] = {"key", "secret_key", "tree", "data", "signatures", "bitfield"};

// Same formula as tests/interop/scripts/core_common.js.
Bytes BlockBytes(uint64_t i, uint64_t size) {
  Bytes b(size);
  for (uint64_t j = 0; j < size; ++j)
    b[j] = static_cast<uint8_t>((i * 131 + j * 7 + (j >> 8)) & 0xff);
  return b;
}

std::string SeedHex(uint8_t v) { return ToHex(Bytes(32, v)); }

Result<Bytes> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string BatchesJson(const Batches& batches) { return nlohmann::json(batches).dump(); }

Status AppendAll(Feed& feed, const Batches& batches) {
  for (const auto& sizes : batches) {
    std::vector<Bytes> blocks;
    uint64_t base = feed.length();
    for (size_t k = 0; k < sizes.size(); ++k) blocks.push_back(BlockBytes(base + k, sizes[k]));
    std::vector<ByteView> views(blocks.begin(), blocks.end());
    auto r = feed.Append(std::span<const ByteView>(views));
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

// Checks every block of a feed against the formula, given the sizes of all blocks.
void ExpectContent(Feed& feed, const std::vector<uint64_t>& sizes) {
  ASSERT_EQ(feed.length(), sizes.size());
  uint64_t total = 0;
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    auto b = feed.Get(BlockIndex(i));
    ASSERT_TRUE(b.ok()) << i << ": " << b.status().ToString();
    ASSERT_EQ(*b, BlockBytes(i, sizes[i])) << i;
    total += sizes[i];
  }
  EXPECT_EQ(feed.byte_length(), total);
}

std::vector<uint64_t> Flatten(const std::vector<Batches>& parts) {
  std::vector<uint64_t> out;
  for (const auto& batches : parts) {
    for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

// Node's view of a core: audit, length, per-block hashes.
void ExpectNodeReads(const std::string& dir, const std::vector<uint64_t>& sizes,
                     const crypto::PublicKey& key) {
  auto r = testing::RunNode("core_read", {dir});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& j = *r;
  EXPECT_EQ(j["length"].get<uint64_t>(), sizes.size());
  EXPECT_EQ(j["key"].get<std::string>(), ToHex(key));
  EXPECT_EQ(j["audit"]["valid"].get<uint64_t>(), sizes.size());
  EXPECT_EQ(j["audit"]["invalid"].get<uint64_t>(), 0u);
  EXPECT_TRUE(j["signatureOk"].get<bool>());
  EXPECT_TRUE(j["writable"].get<bool>());
  ASSERT_EQ(j["blocks"].size(), sizes.size());
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    ASSERT_EQ(j["blocks"][i].get<std::string>(), ToHex(crypto::LeafHash(BlockBytes(i, sizes[i]))))
        << i;
  }
}

// One batch of 64 blocks of 64 KiB and a few odd sizes, then a small batch after it: over
// 128 KiB, so Feed::Append hashes it on the shared workers while it writes the data with one
// vectored write.
Batches BigBatch() {
  std::vector<uint64_t> b = {1};
  for (int k = 0; k < 64; ++k) b.push_back(65536);
  for (uint64_t size : {4097, 131072, 3, 0, 65535}) b.push_back(size);
  return {b, {5, 131072}};
}

struct Scenario {
  const char* name;
  Batches batches;
};

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> s;
  s.push_back({"no_appends", {}});
  s.push_back({"empty_block", {{0}}});
  s.push_back({"one_byte", {{1}}});
  s.push_back({"blocks_64k", {{65536}, {65536}, {65536}, {1}}});
  s.push_back({"blocks_1m", {{1 << 20}, {1 << 20}, {3}}});
  Batches many;
  for (uint64_t i = 0; i < 3000; ++i) many.push_back({i % 37});
  s.push_back({"many_small", many});
  s.push_back({"batches",
               {{1, 2, 3}, {0, 5}, {100, 200, 300, 400, 500}, {7}, {1, 1, 1, 1, 1, 1, 1, 1, 1}}});
  Batches big_batches;
  for (uint64_t i = 0; i < 40; ++i) {
    std::vector<uint64_t> b;
    for (uint64_t k = 0; k < (i % 7) + 1; ++k) b.push_back((i * 13 + k) % 90);
    big_batches.push_back(b);
  }
  big_batches.push_back(std::vector<uint64_t>(9000, 1));  // crosses a bitfield page
  s.push_back({"mixed_batches", big_batches});
  s.push_back({"big_batch", BigBatch()});
  return s;
}

TEST(CoreInterop, FilesAreByteForByteIdentical) {
  for (const auto& sc : Scenarios()) {
    SCOPED_TRACE(sc.name);
    testing::TempDir tmp;
    std::string node_dir = tmp.Sub("node"), ours_dir = tmp.Sub("ours");
    auto r = testing::RunNode("core_write", {node_dir, SeedHex(7)}, BatchesJson(sc.batches));
    ASSERT_TRUE(r.ok()) << r.status().ToString();

    auto kp = crypto::KeyPairFromSeed(Bytes(32, 7));
    FeedOptions o;
    o.key = kp.public_key;
    o.secret_key = kp.secret_key;
    {
      auto feed = Feed::Open(storage::PosixDirectory(ours_dir), o);
      ASSERT_TRUE(feed.ok()) << feed.status().ToString();
      ASSERT_TRUE(AppendAll(**feed, sc.batches).ok());
      EXPECT_EQ((*feed)->length(), (*r)["length"].get<uint64_t>());
      EXPECT_EQ((*feed)->byte_length(), (*r)["byteLength"].get<uint64_t>());
      ASSERT_TRUE((*feed)->Close().ok());
    }
    for (const char* name : kFiles) {
      SCOPED_TRACE(name);
      auto theirs = ReadWholeFile(node_dir + "/" + name);
      auto ours = ReadWholeFile(ours_dir + "/" + name);
      // random-access-file creates `data` only when first written; an absent file equals an
      // empty one.
      Bytes t = theirs.ok() ? *theirs : Bytes{};
      Bytes u = ours.ok() ? *ours : Bytes{};
      ASSERT_EQ(t.size(), u.size());
      if (t != u) {
        size_t i = 0;
        while (t[i] == u[i]) ++i;
        FAIL() << "first difference at byte " << i;
      }
    }
  }
}

TEST(CoreInterop, EachSideReadsAndExtendsTheOther) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("core");
  Batches node1 = {{5, 0, 17}, {65536}, {1}, {2, 3}};
  Batches ours1 = {{9}, {0}, {100, 101, 102}};
  Batches node2 = {{4, 4}, {70000}};
  Batches ours2 = {{1}, {2}};
  auto kp = crypto::KeyPairFromSeed(Bytes(32, 9));

  auto r = testing::RunNode("core_write", {dir, SeedHex(9)}, BatchesJson(node1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  {
    // Opened with no options: key and secret key come from the store.
    auto feed = Feed::Open(storage::PosixDirectory(dir));
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    Feed& f = **feed;
    EXPECT_EQ(f.key(), kp.public_key);
    EXPECT_TRUE(f.writable());
    ExpectContent(f, Flatten({node1}));
    auto audit = f.Audit();
    ASSERT_TRUE(audit.ok());
    EXPECT_EQ(audit->valid, f.length());
    EXPECT_EQ(audit->invalid, 0u);
    auto sig = f.Signature(BlockIndex(f.length() - 1));
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(f.VerifySignature(sig->index, sig->signature).ok());
    ASSERT_TRUE(AppendAll(f, ours1).ok());
    ASSERT_TRUE(f.Close().ok());
  }
  ExpectNodeReads(dir, Flatten({node1, ours1}), kp.public_key);
  r = testing::RunNode("core_append", {dir}, BatchesJson(node2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["length"].get<uint64_t>(), Flatten({node1, ours1, node2}).size());
  {
    auto feed = Feed::Open(storage::PosixDirectory(dir));
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    ExpectContent(**feed, Flatten({node1, ours1, node2}));
    ASSERT_TRUE(AppendAll(**feed, ours2).ok());
    ASSERT_TRUE((*feed)->Close().ok());
  }
  ExpectNodeReads(dir, Flatten({node1, ours1, node2, ours2}), kp.public_key);
}

TEST(CoreInterop, WeReadNodesBigBatch) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("node");
  const Batches batches = BigBatch();
  auto r = testing::RunNode("core_write", {dir, SeedHex(11)}, BatchesJson(batches));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto feed = Feed::Open(storage::PosixDirectory(dir));
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  EXPECT_EQ((*feed)->key(), crypto::KeyPairFromSeed(Bytes(32, 11)).public_key);
  ExpectContent(**feed, Flatten({batches}));
  auto audit = (*feed)->Audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->valid, (*feed)->length());
  EXPECT_EQ(audit->invalid, 0u);
}

TEST(CoreInterop, NodeProofsVerifyInOurReplica) {
  testing::TempDir tmp;
  std::string dir = tmp.Sub("node");
  Batches batches;
  for (uint64_t i = 0; i < 23; ++i) batches.push_back({i * 3});
  auto w = testing::RunNode("core_write", {dir, SeedHex(3)}, BatchesJson(batches));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // Node's proof with digest 0 for each block: a fresh replica verifies each on its own.
  std::vector<std::string> args = {dir};
  for (uint64_t i : {22, 0, 7, 8, 15, 16, 3}) args.push_back(std::to_string(i));
  auto r = testing::RunNode("core_proof", args);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto kp = crypto::KeyPairFromSeed(Bytes(32, 3));
  for (const auto& p : (*r)["proofs"]) {
    storage::MemoryDirectory rdir;
    FeedOptions o;
    o.key = kp.public_key;
    auto feed = Feed::Open(rdir.factory(), o);
    ASSERT_TRUE(feed.ok());
    Proof proof;
    for (const auto& n : p["nodes"]) {
      TreeNode node;
      node.index = TreeIndex(n["index"].get<uint64_t>());
      auto h = FromHex(n["hash"].get<std::string>());
      ASSERT_TRUE(h.ok());
      std::copy(h->begin(), h->end(), node.hash.begin());
      node.size = n["size"].get<uint64_t>();
      proof.nodes.push_back(node);
    }
    ASSERT_FALSE(p["signature"].is_null());
    auto sig = FromHex(p["signature"].get<std::string>());
    ASSERT_TRUE(sig.ok());
    crypto::Signature s;
    std::copy(sig->begin(), sig->end(), s.begin());
    proof.signature = s;
    uint64_t index = p["index"].get<uint64_t>();
    auto data = FromHex(p["data"].get<std::string>());
    ASSERT_TRUE(data.ok());
    // Our own proof for the same block is the same.
    {
      auto ours = Feed::Open(storage::PosixDirectory(dir));
      ASSERT_TRUE(ours.ok());
      auto mine = (*ours)->MakeProof(BlockIndex(index));
      ASSERT_TRUE(mine.ok());
      EXPECT_EQ(mine->nodes, proof.nodes);
      EXPECT_EQ(mine->signature, proof.signature);
    }
    Status st = (*feed)->Put(BlockIndex(index), *data, proof);
    ASSERT_TRUE(st.ok()) << index << ": " << st.ToString();
    EXPECT_EQ((*feed)->length(), 23u);
    EXPECT_EQ(*(*feed)->Get(BlockIndex(index)), BlockBytes(index, index * 3));
  }
}

}  // namespace
}  // namespace hyper::core
