// Deduplication read by Node hyperdrive 10.21: files whose Stats point at content blocks of
// other files (WriteFile, a FileWriter stream, a WriteFiles batch), after the file written first
// is overwritten and deleted, read in Node, opening the same corestore directory, exactly as
// here and exactly as the bytes written (Stats, bytes, byte ranges inside shared blocks,
// listings), at the latest version and at a tagged one.
#include <gtest/gtest.h>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "tests/interop/drive_ops.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::drive {
namespace {

using testing::json;

TEST(DriveDedupInteropTest, NodeReadsFilesThatShareContentBlocks) {
  hyper::testing::TempDir tmp;
  const std::string dir = tmp.Sub("store");
  std::string key;
  uint64_t tagged = 0;
  const Bytes big = testing::GenBytes(1, 1300000);             // 3 blocks
  const Bytes stream = testing::GenBytes(2, 9 * 1024 * 1024);  // more than a writer's buffer
  const Bytes small = testing::GenBytes(3, 5000);
  const Bytes empty;
  const Bytes other = testing::GenBytes(4, 700);
  // Every path, and the bytes it holds at the tag and at the latest version (absent: none).
  std::map<std::string, std::pair<const Bytes*, const Bytes*>> want;
  json q = {
      {"dirs", json::array({{{"path", "/"}, {"recursive", true}}})},
      {"ranges", json::array({{{"path", "/copy/big.bin"}, {"start", 524000}, {"length", 2000}},
                              {{"path", "/streamed.bin"}, {"start", 5000000}, {"length", 1048576}},
                              {{"path", "/batch/small-2"}, {"start", 100}, {"length", 10}}})},
      {"versions", json::array()},
      {"diffs", json::array()}};
  json ours;
  {
    auto store = corestore::Corestore::OpenDirectory(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto d = std::move(Drive::Open(**store)).value();
    key = ToHex(d->key());
    const Stat original = *d->WriteFile("/big.bin", big);
    const Stat copy = *d->WriteFile("/copy/big.bin", big);
    EXPECT_EQ(copy.offset, original.offset);
    const Stat streamed_first = *d->WriteFile("/stream-source.bin", stream);
    {
      auto w = std::move(d->CreateWriter("/streamed.bin")).value();
      for (size_t pos = 0; pos < stream.size(); pos += 1024 * 1024) {
        ASSERT_TRUE(w->Write(ByteView(stream).subspan(
                                 pos, std::min<size_t>(1024 * 1024, stream.size() - pos)))
                        .ok());
      }
      const Stat streamed = *w->Close();
      EXPECT_TRUE(w->deduplicated());
      EXPECT_EQ(streamed.offset, streamed_first.offset);
    }
    const uint64_t before_batch = d->content_feed()->length();
    std::vector<Drive::FileToWrite> batch = {{"/batch/small-1", small, {}},
                                             {"/batch/small-2", small, {}},
                                             {"/batch/big.bin", big, {}},
                                             {"/batch/empty-1", empty, {}},
                                             {"/batch/empty-2", empty, {}}};
    auto written = d->WriteFiles(batch);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    EXPECT_EQ((*written)[1].offset, (*written)[0].offset);
    EXPECT_EQ((*written)[2].offset, original.offset);
    EXPECT_EQ((*written)[4].offset, (*written)[3].offset);
    EXPECT_EQ(d->content_feed()->length(), before_batch + 2);  // small, one empty block
    ASSERT_TRUE(d->CreateTag("v1").ok());
    tagged = *d->GetTaggedVersion("v1");
    for (const auto& [path, bytes] :
         std::vector<std::pair<std::string, const Bytes*>>{{"/big.bin", &big},
                                                           {"/copy/big.bin", &big},
                                                           {"/stream-source.bin", &stream},
                                                           {"/streamed.bin", &stream},
                                                           {"/batch/small-1", &small},
                                                           {"/batch/small-2", &small},
                                                           {"/batch/big.bin", &big},
                                                           {"/batch/empty-1", &empty},
                                                           {"/batch/empty-2", &empty}}) {
      want[path] = {bytes, bytes};
    }
    // The files written first go: overwritten, deleted; the copies still read the blocks.
    ASSERT_TRUE(d->WriteFile("/big.bin", other).ok());
    ASSERT_TRUE(d->Unlink("/stream-source.bin").ok());
    ASSERT_TRUE(d->Unlink("/batch/small-1").ok());
    want["/big.bin"].second = &other;
    want["/stream-source.bin"].second = nullptr;
    want["/batch/small-1"].second = nullptr;
    // And a gc frees what no kept version reads (nothing shared).
    auto report = d->ClearUntagged();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->blocks, 0u);
    q["paths"] = json::array();
    for (const auto& [path, bytes] : want) q["paths"].push_back(path);
    q["versions"] = json::array({tagged});
    q["diffs"] = json::array({{{"version", tagged}, {"prefix", "/"}}});
    ours = testing::Dump(*d, q);
  }

  auto node = hyper::testing::RunNode("drive_dump", {dir, key}, q.dump());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(*node, ours) << "patch from ours to Node's:\n" << json::diff(ours, *node).dump(1);
  // Every file holds the bytes written to it, at the latest version (view 0) and the tag's.
  for (const auto& [path, bytes] : want) {
    for (int view = 0; view < 2; view++) {
      const Bytes* expected = view == 0 ? bytes.second : bytes.first;
      const json& e = (*node)["views"][view]["stats"][path];
      if (expected == nullptr) {
        EXPECT_TRUE(e["stat"].contains("error")) << path;
        continue;
      }
      EXPECT_EQ(e["content"]["length"], expected->size()) << path << " view " << view;
      EXPECT_EQ(e["content"]["fnv"], testing::Fnv(*expected)) << path << " view " << view;
    }
  }
  const json& ranges = (*node)["views"][0]["ranges"];
  EXPECT_EQ(ranges[0]["fnv"], testing::Fnv(ByteView(big).subspan(524000, 2000)));
  EXPECT_EQ(ranges[1]["fnv"], testing::Fnv(ByteView(stream).subspan(5000000, 1048576)));
  EXPECT_EQ(ranges[2]["fnv"], testing::Fnv(ByteView(small).subspan(100, 10)));
}

}  // namespace
}  // namespace hyper::drive
