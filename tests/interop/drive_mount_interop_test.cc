// Mounts against Node hyperdrive 10.21: drive A mounts drive B (both in one corestore
// directory) at /m and at /pinned (B's version 3). Whoever wrote the store, we and Node see the
// same files, listings, mount Stats and mount list through A.
#include <gtest/gtest.h>

#include <algorithm>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "tests/interop/drive_ops.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::drive {
namespace {

using testing::json;

// Our answer in drive_mounts.js's `read` shape.
json ReadThroughMounts(const Drive& a) {
  json out = {{"files", json::object()},
              {"dirs", json::object()},
              {"stats", json::object()},
              {"mounts", json::array()}};
  for (std::string f : {"/m/from-cpp.txt", "/m/inner/file.txt", "/m/later.txt",
                        "/pinned/inner/second.txt", "/pinned/later.txt", "/outer.txt"}) {
    auto data = a.ReadFile(f);
    out["files"][f] = data.ok() ? json(std::string(AsString(*data)))
                                : json{{"error", testing::ErrorName(data.status())}};
  }
  for (auto [d, recursive] : std::vector<std::pair<std::string, bool>>{
           {"/", false}, {"/", true}, {"/m", false}, {"/m/inner", false}, {"/pinned", true}}) {
    auto list = a.Readdir(d, {recursive, false});
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> names;
    if (list.ok()) {
      for (const auto& e : *list) names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    out["dirs"][d + (recursive ? " recursive" : "")] = names;
  }
  for (std::string f : {"/m", "/pinned", "/m/inner/file.txt"}) {
    auto st = a.Lstat(f);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (!st.ok()) continue;
    json s = testing::DescribeStat(*st);
    s.erase("mtime");
    s.erase("ctime");
    out["stats"][f] = s;
  }
  auto diff = a.Diff(2, "/");
  EXPECT_TRUE(diff.ok()) << diff.status().ToString();
  out["diff"] = json::array();
  if (diff.ok()) {
    static const char* const kTypes[] = {"put", "del", "mount", "unmount"};
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& e : *diff) entries.emplace_back(e.name, kTypes[static_cast<int>(e.type)]);
    std::sort(entries.begin(), entries.end());
    for (const auto& [name, type] : entries)
      out["diff"].push_back({{"type", type}, {"name", name}});
  }
  auto mounts = a.GetAllMounts();
  EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
  if (mounts.ok()) {
    for (const auto& m : *mounts) {
      out["mounts"].push_back(
          {{"path", m.path},
           {"metadata", ToHex(m.metadata_key)},
           {"content", m.content_key ? json(ToHex(*m.content_key)) : json(nullptr)}});
    }
  }
  return out;
}

std::unique_ptr<corestore::Corestore> OpenStore(const std::string& dir) {
  auto store = corestore::Corestore::OpenDirectory(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

TEST(DriveMountInteropTest, NodeMountsWeRead) {
  hyper::testing::TempDir tmp;
  const std::string dir = tmp.Sub("store");
  auto written = hyper::testing::RunNode("drive_mounts", {"write", dir});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto node_view = hyper::testing::RunNode("drive_mounts", {"read", dir, (*written)["a"]});
  ASSERT_TRUE(node_view.ok()) << node_view.status().ToString();

  auto store = OpenStore(dir);
  auto a = Drive::Open(*store);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(ToHex((*a)->key()), (*written)["a"].get<std::string>());
  // Node's namespace "b" drive is ours too.
  DriveOptions bo;
  bo.namespace_name = "b";
  auto b = Drive::Open(*store, bo);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(ToHex((*b)->key()), (*written)["b"].get<std::string>());
  EXPECT_TRUE((*b)->writable());
  json ours = ReadThroughMounts(**a);
  EXPECT_EQ(ours, *node_view) << "ours: " << ours.dump() << "\nnode: " << node_view->dump();

  // We write into B through A's mount; Node sees it through A.
  ASSERT_TRUE((*a)->WriteFile("/m/from-cpp.txt", AsBytes("c++ wrote this")).ok());
  EXPECT_EQ(AsString(*(*b)->ReadFile("/from-cpp.txt")), "c++ wrote this");
  b->reset();
  a->reset();
  store.reset();
  auto again = hyper::testing::RunNode("drive_mounts", {"read", dir, (*written)["a"]});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["files"]["/m/from-cpp.txt"], "c++ wrote this");
}

TEST(DriveMountInteropTest, WeMountNodeReads) {
  hyper::testing::TempDir tmp;
  const std::string dir = tmp.Sub("store");
  std::string a_key;
  json ours;
  {
    auto store = OpenStore(dir);
    auto a = std::move(Drive::Open(*store)).value();
    DriveOptions bo;
    bo.namespace_name = "b";
    auto b = std::move(Drive::Open(*store, bo)).value();
    ASSERT_TRUE(b->WriteFile("/inner/file.txt", AsBytes("inside b")).ok());
    ASSERT_TRUE(b->WriteFile("/inner/second.txt", AsBytes("second")).ok());
    ASSERT_TRUE(b->WriteFile("/later.txt", AsBytes("later")).ok());
    ASSERT_TRUE(a->WriteFile("/outer.txt", AsBytes("in a")).ok());
    MountOptions mo;
    mo.uid = 3;
    ASSERT_TRUE(a->Mount("/m", b->key(), mo).ok());
    MountOptions pinned;
    pinned.version = 3;
    ASSERT_TRUE(a->Mount("/pinned", b->key(), pinned).ok());
    a_key = ToHex(a->key());
    ours = ReadThroughMounts(*a);
  }
  auto node_view = hyper::testing::RunNode("drive_mounts", {"read", dir, a_key});
  ASSERT_TRUE(node_view.ok()) << node_view.status().ToString();
  EXPECT_EQ(ours, *node_view) << "ours: " << ours.dump() << "\nnode: " << node_view->dump();

  // Node writes into B through A's mount; we see it in B.
  auto wrote = hyper::testing::RunNode("drive_mounts", {"writeThrough", dir, a_key});
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  auto store = OpenStore(dir);
  DriveOptions bo;
  bo.namespace_name = "b";
  auto b = Drive::Open(*store, bo);
  ASSERT_TRUE(b.ok());
  auto data = (*b)->ReadFile("/from-node.txt");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(AsString(*data), "node wrote this");
}

}  // namespace
}  // namespace hyper::drive
