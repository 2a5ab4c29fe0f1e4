// Garbage collection read by Node hyperdrive 10.21: after our ClearUntagged frees the content
// that only untagged old versions read, Node, opening the same corestore directory, reads the
// latest version and the tagged one exactly as we do, and exactly as both read before the gc
// (Stats, bytes, listings, byte ranges, diffs, tags).
#include <gtest/gtest.h>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "tests/interop/drive_ops.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::drive {
namespace {

using testing::json;

TEST(DriveGcInteropTest, NodeReadsTheLatestAndTaggedVersionsAfterOurGc) {
  hyper::testing::TempDir tmp;
  const std::string dir = tmp.Sub("store");
  std::string key;
  uint64_t tagged = 0;
  json q = {{"paths", json::array({"/keep.txt", "/big.bin", "/over.bin", "/deleted.bin",
                                   "/dir/x.bin", "/temp.bin", "/dir"})},
            {"dirs", json::array({{{"path", "/"}, {"recursive", true}}})},
            {"ranges", json::array({{{"path", "/big.bin"}, {"start", 524000}, {"length", 2000}},
                                    {{"path", "/over.bin"}, {"start", 10}, {"length", 50000}}})},
            {"versions", json::array()},
            {"diffs", json::array()}};
  json before;
  {
    auto store = corestore::Corestore::OpenDirectory(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto d = std::move(Drive::Open(**store)).value();
    key = ToHex(d->key());
    ASSERT_TRUE(d->WriteFile("/keep.txt", AsBytes("kept throughout")).ok());
    ASSERT_TRUE(d->WriteFile("/big.bin", testing::GenBytes(1, 1300000)).ok());  // 3 blocks
    ASSERT_TRUE(d->WriteFile("/over.bin", testing::GenBytes(2, 600000)).ok());
    ASSERT_TRUE(d->WriteFile("/deleted.bin", testing::GenBytes(3, 5000)).ok());
    ASSERT_TRUE(d->WriteFile("/dir/x.bin", testing::GenBytes(4, 70000)).ok());
    ASSERT_TRUE(d->CreateTag("v1").ok());
    tagged = *d->GetTaggedVersion("v1");
    // Content only untagged old versions read: an intermediate /over.bin and a file written
    // and removed.
    const Stat middle = *d->WriteFile("/over.bin", testing::GenBytes(5, 800000));
    ASSERT_TRUE(d->WriteFile("/over.bin", testing::GenBytes(6, 100000)).ok());
    ASSERT_TRUE(d->Unlink("/deleted.bin").ok());
    const Stat temp = *d->WriteFile("/temp.bin", testing::GenBytes(7, 300000));
    ASSERT_TRUE(d->Unlink("/temp.bin").ok());
    ASSERT_TRUE(d->WriteFile("/big.bin", testing::GenBytes(8, 1100000)).ok());
    q["versions"] = json::array({tagged});
    q["diffs"] = json::array({{{"version", tagged}, {"prefix", "/"}}});
    before = testing::Dump(*d, q);

    auto report = d->ClearUntagged();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->files, 2u);
    EXPECT_EQ(report->blocks, middle.blocks + temp.blocks);
    EXPECT_EQ(report->bytes, middle.size + temp.size);
    EXPECT_EQ(d->content_feed()->Downloaded(),
              d->content_feed()->length() - middle.blocks - temp.blocks);
  }

  auto node = hyper::testing::RunNode("drive_dump", {dir, key}, q.dump());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  json after;
  {
    auto store = corestore::Corestore::OpenDirectory(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto d = std::move(Drive::Open(**store)).value();
    after = testing::Dump(*d, q);
  }
  EXPECT_EQ(after, before) << "patch from before to after:\n" << json::diff(before, after).dump(1);
  EXPECT_EQ(*node, after) << "patch from ours to Node's:\n" << json::diff(after, *node).dump(1);
  // The views hold what they should: the tag's /over.bin is the first one, the latest's the
  // last, and nothing of either reads as an error.
  const json& latest = after["views"][0]["stats"];
  const json& at_tag = after["views"][1]["stats"];
  EXPECT_EQ(latest["/over.bin"]["content"]["length"], 100000);
  EXPECT_EQ(at_tag["/over.bin"]["content"]["length"], 600000);
  EXPECT_EQ(at_tag["/deleted.bin"]["content"]["length"], 5000);
  EXPECT_EQ(latest["/big.bin"]["content"]["length"], 1100000);
  EXPECT_EQ(at_tag["/big.bin"]["content"]["length"], 1300000);
  EXPECT_EQ(after["tags"]["v1"], tagged);
}

}  // namespace
}  // namespace hyper::drive
