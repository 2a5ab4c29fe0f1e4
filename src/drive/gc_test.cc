// Drive::ClearUntagged and Drive::ClearContent: what is freed, what is kept, and how a freed
// version reads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "tests/support/memory_drive.h"

namespace hyper::drive {
namespace {

Bytes Content(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
  return b;
}

class GcTest : public hyper::testing::MemoryDriveTest {
 protected:
  static Bytes Read(const Drive& d, std::string_view path) { return ReadBytes(d, path); }
  GcReport Gc(const GcOptions& o = {}) {
    auto r = drive_->ClearUntagged(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GcReport();
  }
  bool Held(const Stat& st) {
    return drive_->content_feed()->Has(BlockIndex(st.offset), BlockIndex(st.offset + st.blocks));
  }
  bool NoneHeld(const Stat& st) {
    return drive_->content_feed()->Downloaded(BlockIndex(st.offset),
                                              BlockIndex(st.offset + st.blocks)) == 0;
  }
};

TEST_F(GcTest, OverwrittenFileFreesItsOldBlocksAndTheLatestReadsAsBefore) {
  // Two blocks for the old content (the write is cut at kContentBlockBytes), one for the new.
  const Bytes old_a = Content(kContentBlockBytes + 1000, 1);
  const Bytes new_a = Content(300, 2);
  const Bytes b = Content(5000, 3);
  const Stat old_stat = Write("/a", old_a);
  Write("/b", b);
  const Stat new_stat = Write("/a", new_a);
  ASSERT_EQ(old_stat.blocks, 2u);

  GcReport r = Gc();
  EXPECT_EQ(r.files, 1u);
  EXPECT_EQ(r.blocks, old_stat.blocks);
  EXPECT_EQ(r.bytes, old_stat.size);
  EXPECT_EQ(r.latest, drive_->version());
  EXPECT_EQ(r.first_retained, drive_->version());
  EXPECT_TRUE(NoneHeld(old_stat));
  EXPECT_TRUE(Held(new_stat));
  EXPECT_EQ(Read(*drive_, "/a"), new_a);
  EXPECT_EQ(Read(*drive_, "/b"), b);

  // The cleared bits are on disk: after reopening the same holds, and a second run frees
  // nothing.
  Reopen();
  EXPECT_TRUE(NoneHeld(old_stat));
  EXPECT_EQ(Read(*drive_, "/a"), new_a);
  EXPECT_EQ(Read(*drive_, "/b"), b);
  GcReport again = Gc();
  EXPECT_EQ(again.blocks, 0u);
  EXPECT_EQ(again.bytes, 0u);
  EXPECT_EQ(again.files, 0u);
}

TEST_F(GcTest, AVersionWhoseBlocksWereFreedSaysNotAvailableLocally) {
  const Bytes old_a = Content(2 * kContentBlockBytes + 10, 4);
  Write("/a", old_a);
  const uint64_t old_version = drive_->version();
  Write("/a", Content(10, 5));
  Gc();

  auto old = drive_->Checkout(old_version);
  ASSERT_TRUE(old.ok());
  // The Stat is still there (the metadata is untouched); its bytes are not.
  auto st = (*old)->GetStat("/a");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, old_a.size());
  auto whole = (*old)->ReadFile("/a");
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), Code::kNotFound);
  EXPECT_NE(whole.status().message().find("/a is not available locally"), std::string::npos)
      << whole.status().ToString();
  // A range inside the second block, and the streaming reader, say the same.
  auto range = (*old)->ReadRange("/a", kContentBlockBytes + 5, 100);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("not available locally"), std::string::npos)
      << range.status().ToString();
}

TEST_F(GcTest, ATaggedVersionKeepsItsBlocks) {
  const Bytes first = Content(4000, 6);
  const Bytes second = Content(5000, 7);
  const Stat first_stat = Write("/a", first);
  ASSERT_TRUE(drive_->CreateTag("release").ok());
  const uint64_t tagged = drive_->version() - 1;  // the tag itself is a version
  ASSERT_EQ(*drive_->GetTaggedVersion("release"), tagged);
  const Stat second_stat = Write("/a", second);
  Write("/a", Content(10, 8));

  GcReport r = Gc();
  ASSERT_EQ(r.tags.size(), 1u);
  EXPECT_EQ(r.tags[0].first, "release");
  EXPECT_EQ(r.tags[0].second, tagged);
  EXPECT_EQ(r.files, 1u);
  EXPECT_EQ(r.blocks, second_stat.blocks);
  EXPECT_EQ(r.bytes, second_stat.size);
  EXPECT_TRUE(Held(first_stat));
  EXPECT_TRUE(NoneHeld(second_stat));
  auto at_tag = drive_->Checkout(tagged);
  ASSERT_TRUE(at_tag.ok());
  EXPECT_EQ(Read(**at_tag, "/a"), first);

  // Once the tag is gone, its blocks go too.
  ASSERT_TRUE(drive_->DeleteTag("release").ok());
  GcReport after = Gc();
  EXPECT_EQ(after.blocks, first_stat.blocks);
  EXPECT_EQ(after.bytes, first_stat.size);
  EXPECT_TRUE(NoneHeld(first_stat));
}

TEST_F(GcTest, KeepVersionsKeepsWhatTheLastNVersionsRead) {
  std::vector<Stat> stats;
  std::vector<Bytes> contents;
  std::vector<uint64_t> versions;
  for (int i = 0; i < 5; i++) {
    contents.push_back(Content(1000 + 100 * i, static_cast<uint8_t>(10 + i)));
    stats.push_back(Write("/a", contents.back()));
    versions.push_back(drive_->version());
  }
  GcOptions o;
  o.keep_versions = 3;  // the versions of writes 2, 3 and 4 (counting from 0)
  GcReport r = Gc(o);
  EXPECT_EQ(r.first_retained, versions[2]);
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.blocks, stats[0].blocks + stats[1].blocks);
  EXPECT_EQ(r.bytes, stats[0].size + stats[1].size);
  for (int i = 0; i < 5; i++) {
    if (i < 2) {
      EXPECT_TRUE(NoneHeld(stats[i])) << i;
    } else {
      EXPECT_TRUE(Held(stats[i])) << i;
      auto at = drive_->Checkout(versions[i]);
      ASSERT_TRUE(at.ok());
      EXPECT_EQ(Read(**at, "/a"), contents[i]) << i;
    }
  }
  o.keep_versions = 0;
  EXPECT_EQ(drive_->ClearUntagged(o).status().code(), Code::kInvalidArgument);
}

TEST_F(GcTest, KeepSinceKeepsTheVersionsFromThatDateAndTheOneCurrentThen) {
  std::vector<Stat> stats;
  std::vector<uint64_t> versions;
  for (uint64_t t : {1000, 2000, 3000, 4000}) {
    WriteOptions o;
    o.ctime = t;
    o.mtime = t;
    stats.push_back(Write("/a", Content(100 + t / 100, static_cast<uint8_t>(t / 1000)), o));
    versions.push_back(drive_->version());
  }
  GcOptions o;
  o.keep_since = 2500;  // 3000 and 4000 were written after, 2000 was current then
  GcReport r = Gc(o);
  EXPECT_EQ(r.first_retained, versions[1]);
  EXPECT_EQ(r.blocks, stats[0].blocks);
  EXPECT_EQ(r.bytes, stats[0].size);
  EXPECT_TRUE(NoneHeld(stats[0]));
  for (int i = 1; i < 4; i++) EXPECT_TRUE(Held(stats[i])) << i;
  // A date after every version: only the latest stays.
  o.keep_since = 10000;
  r = Gc(o);
  EXPECT_EQ(r.first_retained, drive_->version());
  EXPECT_EQ(r.bytes, stats[1].size + stats[2].size);
}

TEST_F(GcTest, DryRunReportsTheSameAndFreesNothing) {
  const Stat old_stat = Write("/a", Content(3000, 20));
  Write("/gone", Content(700, 21));
  ASSERT_TRUE(drive_->Unlink("/gone").ok());
  Write("/a", Content(40, 22));
  GcOptions o;
  o.dry_run = true;
  GcReport dry = Gc(o);
  EXPECT_EQ(dry.files, 2u);
  EXPECT_EQ(dry.bytes, 3000u + 700u);
  EXPECT_TRUE(Held(old_stat));
  EXPECT_EQ(drive_->content_feed()->Downloaded(), drive_->content_feed()->length());
  GcReport real = Gc();
  EXPECT_EQ(real.files, dry.files);
  EXPECT_EQ(real.blocks, dry.blocks);
  EXPECT_EQ(real.bytes, dry.bytes);
  EXPECT_TRUE(NoneHeld(old_stat));
}

TEST_F(GcTest, SharedBlocksStayWhileAnyKeptStatReadsThem) {
  const Bytes a = Content(9000, 30);
  const Stat a_stat = Write("/a", a);
  ASSERT_TRUE(drive_->Copy("/a", "/copy").ok());
  ASSERT_TRUE(drive_->Rename("/a", "/moved").ok());
  Write("/moved", Content(5, 31));
  GcReport r = Gc();
  EXPECT_EQ(r.blocks, 0u);
  EXPECT_TRUE(Held(a_stat));
  EXPECT_EQ(Read(*drive_, "/copy"), a);
}

TEST_F(GcTest, BlocksOfADeduplicatedFileStayWhileAnyKeptFileReadsThem) {
  // /b is written with /a's bytes: deduplication points it at /a's blocks.
  const Bytes a = Content(kContentBlockBytes + 3000, 32);
  const Stat a_stat = Write("/a", a);
  const Stat b_stat = Write("/b", a);
  ASSERT_EQ(b_stat.offset, a_stat.offset);
  ASSERT_EQ(b_stat.blocks, a_stat.blocks);
  // The file written first is overwritten, then deleted: /b still reads the blocks.
  Write("/a", Content(10, 33));
  ASSERT_TRUE(drive_->Unlink("/a").ok());
  GcReport r = Gc();
  EXPECT_EQ(r.blocks, 1u);  // /a's 10 bytes, read by no kept version
  EXPECT_TRUE(Held(b_stat));
  EXPECT_EQ(Read(*drive_, "/b"), a);
  // Once no kept version reads them, they are freed.
  ASSERT_TRUE(drive_->Unlink("/b").ok());
  r = Gc();
  EXPECT_EQ(r.blocks, b_stat.blocks);
  EXPECT_EQ(r.files, 1u);  // one content (block range), named by two Stats
  EXPECT_TRUE(NoneHeld(b_stat));
}

TEST_F(GcTest, BlocksNoStatReadsAreFreedButNeverThoseOfAnOpenWriter) {
  // An aborted writer leaves blocks no Stat names (a write this big is appended at once).
  {
    auto w = drive_->CreateWriter("/aborted");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(Content(5 * 1024 * 1024 + 3, 40)).ok());
  }
  const uint64_t aborted_blocks = drive_->content_feed()->length();
  const uint64_t aborted_bytes = drive_->content_feed()->byte_length();
  ASSERT_GT(aborted_blocks, 0u);
  ASSERT_EQ(aborted_bytes, 5u * 1024 * 1024 + 3);
  const Bytes kept = Content(100, 41);
  Write("/kept", kept);
  GcReport r = Gc();
  EXPECT_EQ(r.files, 0u);
  EXPECT_EQ(r.blocks, aborted_blocks);
  EXPECT_EQ(r.bytes, aborted_bytes);
  EXPECT_EQ(Read(*drive_, "/kept"), kept);

  // A writer holds the content lock: this thread asking again is Busy, nothing freed.
  auto w = drive_->CreateWriter("/open");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(Content(500, 42)).ok());
  EXPECT_EQ(drive_->ClearUntagged().status().code(), Code::kBusy);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(Read(*drive_, "/open"), Content(500, 42));
}

TEST_F(GcTest, MountsAndSymlinksReadNoBlocksOfThisDrive) {
  auto other = Drive::Open(*store_, DriveOptions{.key = std::nullopt, .namespace_name = "other"});
  ASSERT_TRUE(other.ok());
  const Bytes inside = Content(600, 50);
  ASSERT_TRUE((*other)->WriteFile("/inside", inside).ok());
  ASSERT_TRUE(drive_->Mount("/m", (*other)->key()).ok());
  ASSERT_TRUE(drive_->Symlink("/m/inside", "/link").ok());
  const Stat old_stat = Write("/f", Content(700, 51));
  Write("/f", Content(70, 52));
  GcReport r = Gc();
  EXPECT_EQ(r.blocks, old_stat.blocks);
  EXPECT_EQ(Read(*drive_, "/m/inside"), inside);
  EXPECT_EQ(Read(*drive_, "/link"), inside);
  // The mounted drive's content is not ours to free.
  EXPECT_EQ((*other)->content_feed()->Downloaded(), (*other)->content_feed()->length());
}

TEST_F(GcTest, ClearContentRefusesADriveWrittenHereAndCheckoutsRefuseGc) {
  Write("/a", Content(10, 60));
  auto clear = drive_->ClearContent("/");
  EXPECT_EQ(clear.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(drive_->content_feed()->Downloaded(), drive_->content_feed()->length());
  auto old = drive_->Checkout(drive_->version());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ((*old)->ClearUntagged().status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace hyper::drive
