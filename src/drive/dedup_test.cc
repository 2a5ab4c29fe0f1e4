// Deduplication within a drive: which writes point at existing content blocks, which append,
// and that every file reads its own bytes.
#include "src/drive/dedup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "tests/support/memory_drive.h"

namespace hyper::drive {
namespace {

Bytes Content(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 13 + (i >> 11));
  return b;
}

class DedupTest : public hyper::testing::MemoryDriveTest {
 protected:
  // Writes `data` through a FileWriter, `chunk` bytes per Write.
  Stat Stream(std::string_view path, const Bytes& data, size_t chunk, WriteOptions o = {}) {
    auto w = drive_->CreateWriter(path, o);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return Stat();
    for (size_t pos = 0; pos < data.size(); pos += chunk) {
      Status s = (*w)->Write(ByteView(data).subspan(pos, std::min(chunk, data.size() - pos)));
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    auto st = (*w)->Close();
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : Stat();
  }
  Bytes Read(std::string_view path) { return ReadBytes(*drive_, path); }
  uint64_t Blocks() const { return drive_->content_feed()->length(); }
  uint64_t Bytes_() const { return drive_->content_feed()->byte_length(); }
};

TEST_F(DedupTest, AFileWithTheBytesOfAnotherPointsAtItsBlocks) {
  const Bytes data = Content(kContentBlockBytes + 12345, 1);
  const Stat a = Write("/a", data);
  const uint64_t blocks = Blocks(), bytes = Bytes_();
  WriteOptions o;
  o.mode = 0600;
  o.mtime = 1234567;
  const Stat b = Write("/dir/b", data, o);
  EXPECT_EQ(Blocks(), blocks);
  EXPECT_EQ(Bytes_(), bytes);
  EXPECT_EQ(b.offset, a.offset);
  EXPECT_EQ(b.byte_offset, a.byte_offset);
  EXPECT_EQ(b.blocks, a.blocks);
  EXPECT_EQ(b.size, a.size);
  EXPECT_EQ(b.mode & 07777, 0600u);
  EXPECT_EQ(b.mtime, 1234567u);
  EXPECT_EQ(drive_->Lstat("/dir/b")->offset, a.offset);
  EXPECT_EQ(Read("/dir/b"), data);
  EXPECT_EQ(Read("/a"), data);
  // Empty files share their one empty block too.
  const Stat e1 = Write("/e1", {});
  const Stat e2 = Write("/e2", {});
  EXPECT_EQ(e2.offset, e1.offset);
  EXPECT_EQ(e2.blocks, 1u);
  EXPECT_TRUE(Read("/e2").empty());
}

TEST_F(DedupTest, SameSizeOtherBytesOrOtherBlocksAreAppended) {
  const Bytes data = Content(3 * kContentBlockBytes, 2);
  Write("/a", data);
  Bytes other = data;
  other.back() ^= 1;  // the same first blocks, another last one
  uint64_t before = Blocks();
  const Stat b = Write("/b", other);
  EXPECT_EQ(b.offset, before);
  EXPECT_EQ(Blocks(), before + 3);
  EXPECT_EQ(Read("/b"), other);
  // The same bytes cut into other blocks (100 KB writes through a stream) are other blocks.
  before = Blocks();
  const Stat c = Stream("/c", data, 100000);
  EXPECT_EQ(c.offset, before);
  EXPECT_GT(Blocks(), before);
  EXPECT_EQ(Read("/c"), data);
  EXPECT_EQ(Read("/a"), data);
}

TEST_F(DedupTest, ABigStreamMatchingAKnownFileAppendsNothing) {
  // 10 MiB: more than the writer's 4 MiB buffer, so the blocks are matched as they come.
  const Bytes data = Content(10 * 1024 * 1024 + 777, 3);
  const Stat a = Write("/a", data);
  const uint64_t before = Blocks();
  // 1 MiB writes are cut into the same 512 KiB blocks as one write of the whole.
  const Stat b = Stream("/b", data, 1024 * 1024);
  EXPECT_EQ(Blocks(), before);
  EXPECT_EQ(b.offset, a.offset);
  EXPECT_EQ(Read("/b"), data);
  const Stat c = Stream("/c", data, 8 * 1024 * 1024);  // writes past the buffer, straight
  EXPECT_EQ(Blocks(), before);
  EXPECT_EQ(c.offset, a.offset);
  EXPECT_EQ(Read("/c"), data);
}

TEST_F(DedupTest, AStreamThatLeavesAKnownFileIsAppendedWhole) {
  const Bytes data = Content(10 * 1024 * 1024, 4);
  Write("/a", data);
  // The first 8 MiB are /a's, then other bytes: the matched blocks are copied, then the rest.
  Bytes diverging = data;
  for (size_t i = 8 * 1024 * 1024; i < diverging.size(); i++) diverging[i] ^= 0x5a;
  uint64_t before = Blocks();
  Stat b = Stream("/b", diverging, 1024 * 1024);
  EXPECT_EQ(b.offset, before);
  EXPECT_EQ(b.blocks, 20u);
  EXPECT_EQ(Blocks(), before + 20);
  EXPECT_EQ(Read("/b"), diverging);
  // A file that is /a followed by more, or only the start of /a, is not /a.
  Bytes longer = data;
  longer.push_back(7);
  before = Blocks();
  Stat c = Write("/c", longer);
  EXPECT_EQ(c.offset, before);
  EXPECT_EQ(Read("/c"), longer);
  const Bytes shorter(data.begin(), data.begin() + 2 * kContentBlockBytes);
  before = Blocks();
  Stat d = Write("/d", shorter);
  EXPECT_EQ(d.offset, before);
  EXPECT_EQ(Blocks(), before + 2);
  EXPECT_EQ(Read("/d"), shorter);
  EXPECT_EQ(Read("/a"), data);
}

TEST_F(DedupTest, TurnedOffItAppendsAgain) {
  const Bytes data = Content(5000, 5);
  Write("/a", data);
  WriteOptions o;
  o.dedup = false;
  const uint64_t before = Blocks();
  const Stat b = Write("/b", data, o);
  EXPECT_EQ(b.offset, before);
  EXPECT_EQ(Blocks(), before + 1);
  const Stat c = Stream("/c", Content(6 * 1024 * 1024, 6), 1024 * 1024, o);
  const Stat d = Stream("/d", Content(6 * 1024 * 1024, 6), 1024 * 1024, o);
  EXPECT_NE(c.offset, d.offset);
  std::vector<Drive::FileToWrite> files = {{"/e", data, o}};
  auto written = drive_->WriteFiles(files);
  ASSERT_TRUE(written.ok());
  EXPECT_NE((*written)[0].offset, b.offset);
}

TEST_F(DedupTest, WriteFilesSharesWithinTheBatchAndWithTheDrive) {
  const Bytes x = Content(3000, 7), y = Content(3000, 8), z = Content(700000, 9);
  const Stat old_x = Write("/old-x", x);
  const uint64_t before = Blocks();
  std::vector<Drive::FileToWrite> files = {{"/1", y, {}}, {"/2", x, {}}, {"/3", y, {}},
                                           {"/4", z, {}}, {"/5", z, {}}, {"/6", {}, {}}};
  auto written = drive_->WriteFiles(files);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  const auto& st = *written;
  EXPECT_EQ(st[1].offset, old_x.offset);  // the drive's
  EXPECT_EQ(st[2].offset, st[0].offset);  // the batch's
  EXPECT_EQ(st[4].offset, st[3].offset);
  EXPECT_EQ(st[4].byte_offset, st[3].byte_offset);
  // Appended: y (1 block), z (2 blocks), the empty file (1 block).
  EXPECT_EQ(Blocks(), before + 4);
  for (size_t i = 0; i < files.size(); i++) {
    EXPECT_EQ(Read(files[i].path), Bytes(files[i].data.begin(), files[i].data.end())) << i;
    EXPECT_EQ(drive_->Lstat(files[i].path)->offset, st[i].offset);
  }
  // A later write finds the batch's files.
  EXPECT_EQ(Write("/7", z).offset, st[3].offset);
}

TEST_F(DedupTest, AReopenedDriveFindsTheFilesOfItsLatestVersion) {
  const Bytes data = Content(2 * kContentBlockBytes + 5, 10);
  const Stat a = Write("/a", data);
  Reopen();
  const uint64_t before = Blocks();
  const Stat b = Write("/b", data);
  EXPECT_EQ(b.offset, a.offset);
  EXPECT_EQ(Blocks(), before);
  EXPECT_EQ(Read("/b"), data);
}

TEST_F(DedupTest, BlocksFreedByGcAreNeverPointedAt) {
  const Bytes data = Content(kContentBlockBytes + 99, 11);
  const Stat old_a = Write("/a", data);
  Write("/a", Content(10, 12));  // the old content is read by no kept version
  GcOptions gc;
  ASSERT_TRUE(drive_->ClearUntagged(gc).ok());
  ASSERT_FALSE(drive_->content_feed()->Has(BlockIndex(old_a.offset)));
  const uint64_t before = Blocks();
  const Stat b = Write("/b", data);
  EXPECT_EQ(b.offset, before);
  EXPECT_EQ(Read("/b"), data);
  // The same with a reopened drive (whose index is built from the latest version only) and a
  // file deleted then freed.
  Write("/c", Content(4000, 13));
  const Stat c = *drive_->Lstat("/c");
  ASSERT_TRUE(drive_->Unlink("/c").ok());
  ASSERT_TRUE(drive_->ClearUntagged(gc).ok());
  const Stat c2 = Write("/c2", Content(4000, 13));
  EXPECT_NE(c2.offset, c.offset);
  EXPECT_EQ(Read("/c2"), Content(4000, 13));
}

TEST_F(DedupTest, ADeletedFilesBlocksStillHeldAreShared) {
  // The index keeps what it learnt: blocks still held are the same bytes after a delete.
  const Bytes data = Content(9000, 14);
  const Stat a = Write("/a", data);
  ASSERT_TRUE(drive_->Unlink("/a").ok());
  const Stat b = Write("/b", data);
  EXPECT_EQ(b.offset, a.offset);
  EXPECT_EQ(Read("/b"), data);
}

TEST_F(DedupTest, TruncateAndAppendHandlesReadRight) {
  const Bytes data = Content(3 * kContentBlockBytes, 15);
  Write("/a", data);
  ASSERT_TRUE(drive_->Truncate("/a", kContentBlockBytes).ok());
  EXPECT_EQ(Read("/a"), Bytes(data.begin(), data.begin() + kContentBlockBytes));
  auto h = drive_->OpenFile("/a", kOpenWrite | kOpenAppend);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE((*h)->Write(kContentBlockBytes, AsBytes("tail")).ok());
  ASSERT_TRUE((*h)->Close().ok());
  Bytes want(data.begin(), data.begin() + kContentBlockBytes);
  for (char ch : std::string("tail")) want.push_back(static_cast<uint8_t>(ch));
  EXPECT_EQ(Read("/a"), want);
}

TEST_F(DedupTest, IndexPassesOverRangesItCannotRead) {
  internal::DedupIndex index;
  ASSERT_TRUE(index.EnsureBuilt(drive_->trie()).ok());
  // A range beyond the feed (a hostile Stat) is never a candidate.
  index.Add(internal::ContentRange{1000, 2, 4096});
  EXPECT_TRUE(index.HasSize(4096, true));
  EXPECT_TRUE(index.Candidates(*drive_->content_feed(), 4096, true, crypto::Hash{}).empty());
  EXPECT_FALSE(index.HasSize(4097, true));
  EXPECT_FALSE(index.HasSize(4097, false));
  EXPECT_TRUE(index.HasSize(10, false));
}

}  // namespace
}  // namespace hyper::drive
