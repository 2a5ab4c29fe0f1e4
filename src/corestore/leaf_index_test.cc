#include "hyper/corestore/leaf_index.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hyper/corestore/corestore.h"
#include "tests/support/temp_dir.h"

namespace hyper::corestore {
namespace {

using hyper::testing::TempDir;

Bytes Block(uint8_t seed, size_t size = 8192) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 9));
  return b;
}

crypto::Hash Dk(uint8_t n) {
  crypto::Hash h{};
  h.fill(n);
  return h;
}

TEST(LeafIndex, FindsWhatWasAddedKeepsTheFirstAndForgetsOnlyWhatItNames) {
  LeafIndex index;
  const crypto::Hash leaf = crypto::LeafHash(Block(1));
  index.Add(Dk(1), 5, leaf, 8192);
  index.Add(Dk(2), 9, leaf, 8192);  // the same block elsewhere: the first is kept
  index.Add(Dk(3), 0, crypto::LeafHash(AsBytes("small")), 5);  // too small to be worth it
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.Find(leaf), (BlockLocation{Dk(1), 5}));
  EXPECT_FALSE(index.Find(crypto::LeafHash(AsBytes("small"))));
  index.Forget(leaf, BlockLocation{Dk(2), 9});  // not what it holds
  EXPECT_TRUE(index.Find(leaf));
  index.Forget(leaf, BlockLocation{Dk(1), 5});
  EXPECT_FALSE(index.Find(leaf));
}

TEST(LeafIndex, StopsAddingAtItsBound) {
  LeafIndexOptions o;
  o.max_entries = 3;
  LeafIndex index(o);
  for (uint8_t i = 0; i < 10; ++i) index.Add(Dk(1), i, crypto::LeafHash(Block(i)), 8192);
  EXPECT_EQ(index.size(), 3u);
}

TEST(LeafIndex, EncodesAndDecodesAndRefusesEveryDamagedFile) {
  LeafIndex index;
  for (uint8_t i = 0; i < 20; ++i) index.Add(Dk(i % 3), i, crypto::LeafHash(Block(i)), 8192);
  index.SetCoverage(Dk(1), LeafCoverage{7, 6});
  Bytes file = index.Encode();
  auto back = LeafIndex::Decode(file);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->size(), 20u);
  for (uint8_t i = 0; i < 20; ++i) {
    EXPECT_EQ((*back)->Find(crypto::LeafHash(Block(i))), (BlockLocation{Dk(i % 3), i}));
  }
  EXPECT_EQ((*back)->CoverageOf(Dk(1)), (LeafCoverage{7, 6}));
  EXPECT_FALSE((*back)->CoverageOf(Dk(2)));
  // Every flipped byte and every cut is Corruption with a message, never a crash.
  for (size_t i = 0; i < file.size(); ++i) {
    Bytes bad = file;
    bad[i] ^= 0x40;
    auto r = LeafIndex::Decode(bad);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
    EXPECT_NE(r.status().message().find("dedup index is damaged"), std::string::npos);
  }
  for (size_t n : {size_t{0}, size_t{5}, size_t{40}, file.size() - 1}) {
    EXPECT_FALSE(LeafIndex::Decode(ByteView(file.data(), n)).ok()) << n;
  }
}

// The store indexes what its cores append, saves the index when it closes, loads it at the
// next open, and rebuilds it (saying why) when it is missing or damaged.
TEST(LeafIndex, TheStoreKeepsItAcrossReopensAndRebuildsItWhenLostOrDamaged) {
  TempDir tmp;
  crypto::Hash dk{};
  {
    auto store = Corestore::OpenDirectory(tmp.path()).value();
    EXPECT_EQ(store->leaf_index_load_status().code(), Code::kNotFound);  // a new store
    auto feed = store->Default().value();
    dk = feed->discovery_key();
    for (uint8_t i = 0; i < 6; ++i) ASSERT_TRUE(feed->Append(Block(i)).ok());
    ASSERT_TRUE(feed->Append(AsBytes("tiny")).ok());  // not indexed
    EXPECT_EQ(store->leaf_index()->size(), 6u);
    EXPECT_EQ(store->leaf_index()->Find(crypto::LeafHash(Block(4))), (BlockLocation{dk, 4}));
  }
  const std::string file = tmp.Sub("dedup_index");
  ASSERT_GT(std::filesystem::file_size(file), 0u);
  {
    auto store = Corestore::OpenDirectory(tmp.path()).value();
    EXPECT_TRUE(store->leaf_index_load_status().ok()) << store->leaf_index_load_status().ToString();
    EXPECT_EQ(store->leaf_index()->size(), 6u);
    // While the store is open the file is empty: a crash leaves it to be rebuilt.
    EXPECT_EQ(std::filesystem::file_size(file), 0u);
  }
  {  // damaged: rebuilt from the cores, with the reason
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('\x55');
  }
  {
    auto store = Corestore::OpenDirectory(tmp.path()).value();
    EXPECT_EQ(store->leaf_index_load_status().code(), Code::kCorruption);
    EXPECT_NE(store->leaf_index_load_status().message().find("checksum mismatch"),
              std::string::npos);
    EXPECT_EQ(store->leaf_index()->size(), 6u);
    EXPECT_EQ(store->leaf_index()->Find(crypto::LeafHash(Block(2))), (BlockLocation{dk, 2}));
  }
  // The rebuild opened the cores without creating files (a named core keeps no secret key).
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub(Corestore::CoreDirectory(dk) + "/secret_key")));
  std::filesystem::resize_file(file, 0);  // as a crash leaves it
  {
    auto store = Corestore::OpenDirectory(tmp.path()).value();
    EXPECT_EQ(store->leaf_index_load_status().code(), Code::kNotFound);
    EXPECT_EQ(store->leaf_index()->size(), 6u);
  }
  // A reader never keeps one (and never writes the file).
  CorestoreOptions ro;
  ro.access = Access::kRead;
  ro.lock = false;
  auto reader = Corestore::OpenDirectory(tmp.path(), ro).value();
  EXPECT_EQ(reader->leaf_index(), nullptr);
}

}  // namespace
}  // namespace hyper::corestore
