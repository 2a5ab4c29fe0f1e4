// Drive::ContentRanges: the blocks a download of a file or a folder selects.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "tests/support/memory_drive.h"

namespace hyper::drive {
namespace {

class ContentRangesTest : public hyper::testing::MemoryDriveTest {
 protected:
  Stat WriteBlocks(Drive& d, std::string_view path, size_t bytes) {
    Bytes data(bytes, static_cast<uint8_t>(path.size()));
    // Through a writer: a file of more than one block (WriteFile writes one).
    WriteOptions o;
    o.dedup = false;
    auto w = d.CreateWriter(path, o);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return Stat();
    EXPECT_TRUE((*w)->Write(data).ok());
    auto st = (*w)->Close();
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : Stat();
  }
  std::vector<ContentRange> Ranges(std::string_view path) {
    auto r = drive_->ContentRanges(path);
    EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    return r.ok() ? *r : std::vector<ContentRange>();
  }
};

TEST_F(ContentRangesTest, AFileSelectsItsBlocksAndAFolderEveryFileBelowItMerged) {
  const Stat a = WriteBlocks(*drive_, "/dir/a", kContentBlockBytes + 1000);  // two blocks
  const Stat outside = WriteBlocks(*drive_, "/outside", 10);
  const Stat b = WriteBlocks(*drive_, "/dir/sub/b", 5);
  ASSERT_TRUE(drive_->Symlink("/outside", "/dir/link").ok());
  ASSERT_GT(a.blocks, 1u);

  auto file = Ranges("/dir/a");
  ASSERT_EQ(file.size(), 1u);
  EXPECT_EQ(file[0].feed, drive_->content_feed());
  EXPECT_EQ(file[0].start, a.offset);
  EXPECT_EQ(file[0].end, a.offset + a.blocks);

  // The folder: a and b, not /outside (written between them) nor the link's target.
  auto folder = Ranges("/dir");
  ASSERT_EQ(folder.size(), 2u);
  EXPECT_EQ(folder[0].start, a.offset);
  EXPECT_EQ(folder[0].end, a.offset + a.blocks);
  EXPECT_EQ(folder[1].start, b.offset);
  EXPECT_EQ(folder[1].end, b.offset + b.blocks);

  // The root: all three files, adjacent, so one range.
  auto all = Ranges("/");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].start, a.offset);
  EXPECT_EQ(all[0].end, b.offset + b.blocks);
  EXPECT_EQ(outside.offset, a.offset + a.blocks);

  // A symlink to a file selects the file's blocks.
  auto link = Ranges("/dir/link");
  ASSERT_EQ(link.size(), 1u);
  EXPECT_EQ(link[0].start, outside.offset);
  EXPECT_EQ(drive_->ContentRanges("/nothing").status().code(), Code::kNotFound);
}

TEST_F(ContentRangesTest, AFolderDoesNotEnterMountsButAPathInsideAMountUsesItsFeed) {
  DriveOptions o;
  o.namespace_name = "other";
  auto other = std::move(Drive::Open(*store_, o)).value();
  const Stat inner = WriteBlocks(*other, "/inner/file", 1000);
  WriteBlocks(*drive_, "/top", 10);
  ASSERT_TRUE(drive_->Mount("/m", other->key()).ok());

  auto root = Ranges("/");
  ASSERT_EQ(root.size(), 1u);
  EXPECT_EQ(root[0].feed, drive_->content_feed());

  auto in_mount = Ranges("/m/inner");
  ASSERT_EQ(in_mount.size(), 1u);
  EXPECT_EQ(in_mount[0].feed->key(), other->content_feed()->key());
  EXPECT_EQ(in_mount[0].start, inner.offset);
  EXPECT_EQ(in_mount[0].end, inner.offset + inner.blocks);
}

}  // namespace
}  // namespace hyper::drive
