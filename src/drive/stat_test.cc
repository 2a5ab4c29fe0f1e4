#include <gtest/gtest.h>

#include <random>

#include "hyper/drive/drive.h"

namespace hyper::drive {
namespace {

Bytes Hex(std::string_view h) { return std::move(FromHex(h)).value(); }

// Golden bytes written by Node hyperdrive 10.21 (writeFile of 1,200,000 bytes after an empty
// file; a symlink; a removed metadata key).
TEST(StatTest, GoldenFile) {
  Bytes golden = Hex("08a483021000180020809f4928033001380040ceafcef9a03448ceafcef9a034");
  auto st = Stat::Decode(golden);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->mode, 0100644u);
  EXPECT_TRUE(st->IsFile());
  EXPECT_EQ(st->size, 1200000u);
  EXPECT_EQ(st->blocks, 3u);
  EXPECT_EQ(st->offset, 1u);
  EXPECT_EQ(st->byte_offset, 0u);
  EXPECT_EQ(st->mtime, st->ctime);
  EXPECT_GT(st->mtime, 1700000000000u);
  EXPECT_EQ(st->Encode(), golden);
}

TEST(StatTest, GoldenSymlinkAndRemovedMetadata) {
  Bytes link = Hex("08a4c30210001800200028003000380040deafcef9a03448deafcef9a0345203626967");
  auto st = Stat::Decode(link);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->IsSymlink());
  EXPECT_EQ(st->linkname, "big");
  EXPECT_EQ(st->Encode(), link);

  Bytes md = Hex("08a483021000180020809f4928033001380040ceafcef9a03448ceafcef9a03462030a0178");
  auto m = Stat::Decode(md);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->metadata.size(), 1u);
  EXPECT_EQ(m->metadata[0].first, "x");
  EXPECT_FALSE(m->metadata[0].second.has_value());
  EXPECT_EQ(m->Encode(), md);
}

TEST(StatTest, MountAndMetadataOrder) {
  Stat st;
  st.mode = kModeDirectory | 0755;
  st.mount = MountRecord{Bytes(32, 7), 5, std::nullopt, false};
  SetMetadataEntry(st.metadata, "b", ToBytes("1"));
  SetMetadataEntry(st.metadata, "10", ToBytes("2"));
  SetMetadataEntry(st.metadata, "a", ToBytes("3"));
  SetMetadataEntry(st.metadata, "2", ToBytes("4"));
  SetMetadataEntry(st.metadata, "b", ToBytes("5"));
  auto back = Stat::Decode(st.Encode());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->metadata.size(), 4u);
  // JS object order: integer keys ascending, then insertion order.
  EXPECT_EQ(back->metadata[0].first, "2");
  EXPECT_EQ(back->metadata[1].first, "10");
  EXPECT_EQ(back->metadata[2].first, "b");
  EXPECT_EQ(*back->metadata[2].second, ToBytes("5"));
  EXPECT_EQ(back->metadata[3].first, "a");
  ASSERT_TRUE(back->mount.has_value());
  EXPECT_EQ(*back->mount, *st.mount);
}

TEST(StatTest, RejectsGarbage) {
  EXPECT_FALSE(Stat::Decode(Hex("1000")).ok());            // no mode
  EXPECT_FALSE(Stat::Decode(Hex("08")).ok());              // truncated
  EXPECT_FALSE(Stat::Decode(Hex("0a05")).ok());            // wrong wire type / short
  EXPECT_FALSE(Stat::Decode(Hex("08005a021000")).ok());    // mount without key
  EXPECT_FALSE(Stat::Decode(Hex("0880808080ff01")).ok());  // mode above 32 bits
}

TEST(PathTest, Normalize) {
  auto n = [](std::string_view p) { return std::move(NormalizePath(p)).value(); };
  EXPECT_EQ(n(""), "/");
  EXPECT_EQ(n("/"), "/");
  EXPECT_EQ(n("a/b"), "/a/b");
  EXPECT_EQ(n("/a//b/"), "/a/b");
  EXPECT_EQ(n("/a/./b/../c"), "/a/c");
  EXPECT_EQ(n("../../x"), "/x");
  EXPECT_EQ(n("/a/../../.."), "/");
  EXPECT_EQ(n("a\\b"), "/a/b");
  EXPECT_EQ(n("/ünï/ｃｏｄｅ"), "/ünï/ｃｏｄｅ");
  EXPECT_FALSE(NormalizePath(std::string_view("a\0b", 3)).ok());
  EXPECT_EQ(TrieKeyOf("/a/b"), "a/b");
  EXPECT_EQ(TrieKeyOf("/"), "");
}

}  // namespace
}  // namespace hyper::drive

namespace hyper::drive {
namespace {

// Mutations of real records and random bytes: decoding never crashes, and whatever decodes
// re-encodes to something that decodes to the same record.
TEST(StatTest, DecoderSurvivesGarbage) {
  std::mt19937_64 rng(7);
  Stat base;
  base.mode = kModeFile | 0644;
  base.size = 1234567;
  base.blocks = 3;
  base.mtime = base.ctime = 1700000000000ull;
  base.linkname = "target";
  base.mount = MountRecord{Bytes(32, 1), 9, Bytes(4, 2), true};
  SetMetadataEntry(base.metadata, "k", ToBytes("v"));
  SetMetadataEntry(base.metadata, "gone", std::nullopt);
  const Bytes golden = base.Encode();
  int decoded = 0;
  for (int i = 0; i < 20000; i++) {
    Bytes b;
    if (i % 4 == 0) {
      b.resize(rng() % 64);
      for (auto& c : b) c = static_cast<uint8_t>(rng());
    } else {
      b = golden;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; e++) {
        size_t at = rng() % b.size();
        switch (rng() % 3) {
          case 0:
            b[at] = static_cast<uint8_t>(rng());
            break;
          case 1:
            b.erase(b.begin() + static_cast<ptrdiff_t>(at));
            break;
          default:
            b.insert(b.begin() + static_cast<ptrdiff_t>(at), static_cast<uint8_t>(rng()));
        }
        if (b.empty()) break;
      }
    }
    auto st = Stat::Decode(b);
    if (!st.ok()) continue;
    decoded++;
    auto again = Stat::Decode(st->Encode());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *st);
  }
  EXPECT_GT(decoded, 100);
}

}  // namespace
}  // namespace hyper::drive
