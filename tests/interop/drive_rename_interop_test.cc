// Renames read by Node hyperdrive 10.21: we rename a file, a symlink, a mount point and a whole
// directory (holding files, a symlink and a mount) of a drive; Node, opening the same
// corestore directory, finds exactly the new tree with the same Stats and the same bytes, and
// the version before the renames still has the old tree.
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

// Our answer in drive_tree.js's shape.
json View(const Drive& d, const json& q, bool latest) {
  json out = {{"version", d.version()},
              {"tree", json::array()},
              {"paths", json::object()},
              {"mounts", json::array()}};
  ReaddirOptions ro;
  ro.recursive = true;
  ro.stats = false;
  ro.no_mounts = !latest;  // see drive_tree.js
  auto list = d.Readdir("/", ro);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> names;
  if (list.ok()) {
    for (const auto& e : *list) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  out["tree"] = names;
  json paths = q["paths"];
  if (latest) paths.insert(paths.end(), q["latestPaths"].begin(), q["latestPaths"].end());
  for (const json& pj : paths) {
    const std::string path = pj;
    json e = json::object();
    auto st = d.Lstat(path);
    if (!st.ok()) {
      e["error"] = testing::ErrorName(st.status());
    } else {
      e["lstat"] = testing::DescribeStat(*st);
      if (st->IsFile()) {
        auto data = d.ReadFile(path);
        EXPECT_TRUE(data.ok()) << path << ": " << data.status().ToString();
        if (data.ok()) e["content"] = testing::Fnv(*data);
      }
    }
    out["paths"][path] = e;
  }
  auto mounts = d.GetAllMounts();
  EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
  if (mounts.ok()) {
    std::vector<std::pair<std::string, std::string>> m;
    for (const auto& e : *mounts) m.emplace_back(e.path, ToHex(e.metadata_key));
    std::sort(m.begin(), m.end());
    for (const auto& [p, k] : m) out["mounts"].push_back({{"path", p}, {"key", k}});
  }
  return out;
}

TEST(DriveRenameInteropTest, NodeReadsTheRenamedTree) {
  hyper::testing::TempDir tmp;
  const std::string dir = tmp.Sub("store");
  // Old path -> new path, for everything the renames move.
  const std::vector<std::pair<std::string, std::string>> moved = {
      {"/file.txt", "/moved/file.txt"},
      {"/big.bin", "/big-renamed.bin"},
      {"/lnk", "/lnk2"},
      {"/mnt", "/elsewhere/mnt2"},
      {"/docs", "/archive/docs"},
      {"/docs/a.txt", "/archive/docs/a.txt"},
      {"/docs/sub", "/archive/docs/sub"},
      {"/docs/sub/b.bin", "/archive/docs/sub/b.bin"},
      {"/docs/sub/link", "/archive/docs/sub/link"},
      {"/docs/m", "/archive/docs/m"},
      {"/docs/m/inner/file.txt", "/archive/docs/m/inner/file.txt"},
      {"/mnt/inner/file.txt", "/elsewhere/mnt2/inner/file.txt"},
  };
  // Node's checkout never answers a read through a live mount: /mnt's files are looked at in
  // the latest version only (so the old one's is read here, before the renames).
  const std::string live_old = "/mnt/inner/file.txt", live_new = "/elsewhere/mnt2/inner/file.txt";
  json q = {{"paths", json::array({"/kept.txt"})},
            {"latestPaths", json::array({live_old, live_new})},
            {"versions", json::array()}};
  for (const auto& [from, to] : moved) {
    if (from == live_old) continue;
    q["paths"].push_back(from);
    q["paths"].push_back(to);
  }
  json live_before;
  std::string key;
  {
    auto store = corestore::Corestore::OpenDirectory(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto a = std::move(Drive::Open(**store)).value();
    DriveOptions bo;
    bo.namespace_name = "b";
    auto b = std::move(Drive::Open(**store, bo)).value();
    key = ToHex(a->key());
    ASSERT_TRUE(b->WriteFile("/inner/file.txt", AsBytes("inside b")).ok());
    ASSERT_TRUE(a->WriteFile("/kept.txt", AsBytes("stays")).ok());
    ASSERT_TRUE(a->WriteFile("/file.txt", AsBytes("a file")).ok());
    ASSERT_TRUE(a->WriteFile("/big.bin", testing::GenBytes(1, 1300000)).ok());  // 3 blocks
    ASSERT_TRUE(a->Symlink("kept.txt", "/lnk").ok());
    ASSERT_TRUE(a->Mount("/mnt", b->key()).ok());
    ASSERT_TRUE(a->Mkdir("/docs").ok());
    ASSERT_TRUE(a->WriteFile("/docs/a.txt", AsBytes("doc a")).ok());
    ASSERT_TRUE(a->Mkdir("/docs/sub").ok());
    ASSERT_TRUE(a->WriteFile("/docs/sub/b.bin", testing::GenBytes(2, 700000)).ok());
    ASSERT_TRUE(a->Symlink("../a.txt", "/docs/sub/link").ok());
    MountOptions pinned;
    pinned.version = b->version();
    ASSERT_TRUE(a->Mount("/docs/m", b->key(), pinned).ok());
    ASSERT_TRUE(a->Mkdir("/moved").ok());
    ASSERT_TRUE(a->Mkdir("/archive").ok());
    ASSERT_TRUE(a->Mkdir("/elsewhere").ok());
    q["versions"].push_back(a->version());
    live_before = View(*a, {{"paths", json::array({live_old})}, {"latestPaths", json::array()}},
                       false)["paths"][live_old];
    for (const auto& [from, to] : moved) {
      if (from == "/docs/a.txt") break;  // the rest move with /docs and /mnt
      ASSERT_TRUE(a->Rename(from, to).ok()) << from;
    }
  }

  auto node = hyper::testing::RunNode("drive_tree", {dir, key}, q.dump());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  json ours;
  {
    auto store = corestore::Corestore::OpenDirectory(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto a = std::move(Drive::Open(**store)).value();
    ASSERT_EQ(ToHex(a->key()), key);
    ours = json{{"views", json::array({View(*a, q, true)})}};
    ours["views"].push_back(View(*a->Checkout(q["versions"][0].get<uint64_t>()).value(), q, false));
  }
  EXPECT_EQ(ours, *node) << "patch from Node's to ours:\n" << json::diff(*node, ours).dump(1);

  // What Node sees: after the renames every old path is gone and its new path has the old
  // Stat and bytes; before them (the checkout), the other way round.
  const json& now = (*node)["views"][0]["paths"];
  const json& before = (*node)["views"][1]["paths"];
  EXPECT_EQ(now[live_old].value("error", ""), "NotFound");
  EXPECT_EQ(now[live_new], live_before);
  for (const auto& [from, to] : moved) {
    if (from == live_old) continue;
    EXPECT_EQ(now[from].value("error", ""), "NotFound") << from;
    EXPECT_EQ(before[to].value("error", ""), "NotFound") << to;
    ASSERT_TRUE(before[from].contains("lstat")) << from << ": " << before[from];
    EXPECT_EQ(now[to], before[from]) << from << " -> " << to;
  }
  EXPECT_EQ(now["/kept.txt"], before["/kept.txt"]);
  EXPECT_EQ((*node)["views"][0]["mounts"].size(), 3u);  // /, /elsewhere/mnt2, /archive/docs/m
  for (const json& name : (*node)["views"][0]["tree"]) {
    const std::string n = name;
    EXPECT_NE(n.rfind("docs", 0), 0u) << n;
    EXPECT_NE(n.rfind("mnt/", 0), 0u) << n;
    EXPECT_NE(n, "file.txt");
    EXPECT_NE(n, "lnk");
  }
}

}  // namespace
}  // namespace hyper::drive
