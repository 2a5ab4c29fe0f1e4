// The daemon's state database against the Node Hyperdrive daemon 1.14.5
// (tests/interop/scripts/daemon_state.js), run in a network namespace of the test's own (the Node
// daemon binds every interface; here there is only loopback) with a DHT bootstrap of its own:
// - what the Node daemon stores (a root drive, configureNetwork with and without remember, a
//   mirror) is exactly what StateDb reads, and what StateDb writes for the same records is the
//   same bytes; our command line reads the drive the Node daemon wrote, from the same root;
// - a root we write (cores by our corestore, state by StateDb) is what a Node daemon started on
//   it restores: its root drive, its remembered configurations (it rejoins the announced ones),
//   its mirrors and its drive index.
#include <gtest/gtest.h>
#include <leveldb/db.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hyper/corestore/corestore.h"
#include "hyper/corestore/storage_root.h"
#include "hyper/daemon/state_db.h"
#include "hyper/drive/drive.h"
#include "tests/support/net_namespace.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::daemon {
namespace {

using hyper::testing::TempDir;

// The gRPC port of the Node daemon: any, inside the test's own namespace.
constexpr char kPort[] = "3101";

template <typename Key>
Key FromHexKey(const std::string& hex) {
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok() && bytes->size() == 32) << hex;
  Key key{};
  if (bytes.ok() && bytes->size() == 32) std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

std::map<std::string, std::string> RawEntries(const std::string& dir) {
  std::map<std::string, std::string> out;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(leveldb::Options(), dir, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<leveldb::DB> db(raw);
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out[it->key().ToString()] = it->value().ToString();
  return out;
}

class DaemonStateInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status ns = hyper::testing::EnterPrivateNetworkNamespace();
    ASSERT_TRUE(ns.ok()) << "the Node daemon binds every interface: it runs in a namespace of "
                            "the test's own, which needs root: "
                         << ns.ToString();
  }
  TempDir tmp_;
};

TEST_F(DaemonStateInterop, WhatTheNodeDaemonStoresIsReadExactly) {
  const std::string root = tmp_.Sub("root");
  auto node = hyper::testing::RunNode("daemon_state", {"write", root, kPort});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const nlohmann::json& drives = (*node)["drives"];
  auto key = [&](const char* name) { return FromHexKey<crypto::PublicKey>(drives[name]["key"]); };
  auto dk = [&](const char* name) {
    return FromHexKey<crypto::Hash>(drives[name]["discoveryKey"]);
  };

  std::map<std::string, std::string> node_raw;
  for (const auto& entry : (*node)["raw"]) {
    auto k = FromHex(entry[0].get<std::string>());
    auto v = FromHex(entry[1].get<std::string>());
    ASSERT_TRUE(k.ok() && v.ok());
    node_raw[std::string(AsString(*k))] = std::string(AsString(*v));
  }

  {
    auto db = StateDb::Open(corestore::StateDbDirectory(root));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto root_drive = (*db)->RootDrive();
    ASSERT_TRUE(root_drive.ok()) << root_drive.status().ToString();
    ASSERT_TRUE(*root_drive);
    EXPECT_EQ((*root_drive)->mountpoint, (*node)["mnt"].get<std::string>());
    EXPECT_EQ((*root_drive)->key, key("A"));

    // Remembered: A (announce and lookup) and B (lookup); D was configured without remember.
    auto seeding = (*db)->NetworkConfigurations();
    ASSERT_TRUE(seeding.ok()) << seeding.status().ToString();
    std::vector<SeedingRecord> expected = {{dk("A"), key("A"), {true, true, true}},
                                           {dk("B"), key("B"), {true, false, true}}};
    std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) {
      return ToHex(x.discovery_key) < ToHex(y.discovery_key);
    });
    EXPECT_EQ(*seeding, expected);
    EXPECT_FALSE(*(*db)->NetworkConfiguration(dk("D")));
    EXPECT_FALSE(*(*db)->NetworkConfiguration(dk("C")));

    EXPECT_EQ(*(*db)->Mirrors(), std::vector<crypto::PublicKey>{key("C")});
    std::vector<crypto::PublicKey> all = {key("A"), key("B"), key("C"), key("D")};
    std::sort(all.begin(), all.end(),
              [](const auto& x, const auto& y) { return ToHex(x) < ToHex(y); });
    EXPECT_EQ(*(*db)->Drives(), all);
  }

  // The same records written by us are the same bytes.
  const std::string ours = tmp_.Sub("ours-db");
  {
    auto db = std::move(StateDb::Open(ours)).value();
    ASSERT_TRUE(db->PutRootDrive({(*node)["mnt"].get<std::string>(), key("A"), ""}).ok());
    ASSERT_TRUE(db->PutNetworkConfiguration({dk("A"), key("A"), {true, true, true}}).ok());
    ASSERT_TRUE(db->PutNetworkConfiguration({dk("B"), key("B"), {true, false, true}}).ok());
    ASSERT_TRUE(db->PutMirror(key("C")).ok());
    for (const char* name : {"A", "B", "C", "D"}) ASSERT_TRUE(db->PutDrive(key(name)).ok());
  }
  EXPECT_EQ(RawEntries(ours), node_raw);

  // Our command line, given the Node daemon's root, reads the drive the daemon wrote.
  auto cat =
      hyper::testing::RunProcess({HYPERDRIVE_BINARY, "--storage", root, "cat",
                                  "hyper://" + drives["A"]["key"].get<std::string>() + "/foo.txt"});
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(cat->exit_code, 0) << cat->stderr_text;
  EXPECT_EQ(cat->stdout_text, "bar");
}

TEST_F(DaemonStateInterop, WhatWeStoreIsRestoredByTheNodeDaemon) {
  const std::string root = tmp_.Sub("root");
  crypto::PublicKey a{};
  crypto::PublicKey b{};
  crypto::Hash dka{};
  crypto::Hash dkb{};
  {
    auto store = corestore::Corestore::OpenDirectory(corestore::CoresDirectory(root));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 0; i < 2; i++) {
      drive::DriveOptions options;
      options.namespace_name = "drive-" + std::to_string(i);
      auto d = drive::Drive::Open(**store, options);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      ASSERT_TRUE((*d)->WriteFile("/hello.txt", AsBytes("from C++")).ok());
      (i == 0 ? a : b) = (*d)->key();
      (i == 0 ? dka : dkb) = (*d)->discovery_key();
    }
    ASSERT_TRUE((*store)->Close().ok());
  }
  const std::string mnt = tmp_.Sub("Hyperdrive");
  {
    auto db = StateDb::Open(corestore::StateDbDirectory(root));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->PutRootDrive({mnt, a, ""}).ok());
    ASSERT_TRUE((*db)->PutNetworkConfiguration({dka, a, {true, true, true}}).ok());
    ASSERT_TRUE((*db)->PutNetworkConfiguration({dkb, b, {true, false, true}}).ok());
    ASSERT_TRUE((*db)->PutMirror(b).ok());
    ASSERT_TRUE((*db)->PutDrive(a).ok());
    ASSERT_TRUE((*db)->PutDrive(b).ok());
  }

  auto node = hyper::testing::RunNode("daemon_state", {"restore", root, kPort});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const nlohmann::json& out = *node;
  EXPECT_EQ(out["rootDrive"], (nlohmann::json{{"mnt", mnt}, {"opts", {{"key", ToHex(a)}}}}));
  nlohmann::json seeding = {
      {ToHex(dka),
       {{"key", ToHex(a)}, {"opts", {{"lookup", true}, {"announce", true}, {"remember", true}}}}},
      {ToHex(dkb),
       {{"key", ToHex(b)}, {"opts", {{"lookup", true}, {"announce", false}, {"remember", true}}}}}};
  EXPECT_EQ(out["seeding"], seeding);
  // The announced one is in the swarm again, announcing and looking up.
  EXPECT_EQ(out["joined"][ToHex(dka)], (nlohmann::json{{"announce", true}, {"lookup", true}}));
  if (out["joined"].contains(ToHex(dkb))) {
    EXPECT_FALSE(out["joined"][ToHex(dkb)]["announce"].get<bool>());
  }
  EXPECT_EQ(out["mirrors"], nlohmann::json::array({ToHex(b)}));
  std::vector<std::string> listed;
  for (const auto& d : out["drives"]) listed.push_back(d["key"].get<std::string>());
  std::vector<std::string> expected = {ToHex(a), ToHex(b)};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listed, expected);

  // And what the Node daemon wrote back while running reads as before.
  auto db = StateDb::Open(corestore::StateDbDirectory(root));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->Mirrors(), std::vector<crypto::PublicKey>{b});
  EXPECT_EQ((*(*db)->RootDrive())->key, a);
}

}  // namespace
}  // namespace hyper::daemon
