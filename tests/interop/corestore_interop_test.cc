// A store written by Node corestore 5 opens here, writable cores included, and the other way.
#include <gtest/gtest.h>

#include "hyper/corestore/corestore.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::corestore {
namespace {

using hyper::testing::RunNode;
using hyper::testing::TempDir;

crypto::PublicKey KeyFromHex(const std::string& hex) {
  crypto::PublicKey key{};
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok() && bytes->size() == 32);
  if (bytes.ok() && bytes->size() == 32) std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

void ExpectBlocks(core::Feed& feed, const nlohmann::json& blocks) {
  ASSERT_EQ(feed.length(), blocks.size());
  for (size_t i = 0; i < blocks.size(); i++) {
    auto got = feed.Get(BlockIndex(i));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(AsString(*got), blocks[i].get<std::string>()) << "block " << i;
  }
}

TEST(CorestoreInterop, NodeWritesWeReadAndAppendNodeReadsBack) {
  TempDir tmp;
  auto written = RunNode("corestore_write", {tmp.path()});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  const auto& w = *written;
  {
    auto store = std::move(Corestore::OpenDirectory(tmp.path())).value();
    auto def = store->Default();
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    EXPECT_EQ(ToHex((*def)->key()), w["default"]["key"]);
    EXPECT_TRUE((*def)->writable());
    ExpectBlocks(**def, w["default"]["blocks"]);

    auto ns = store->Default("drives");
    ASSERT_TRUE(ns.ok());
    EXPECT_EQ(ToHex((*ns)->key()), w["ns"]["key"]);
    ExpectBlocks(**ns, w["ns"]["blocks"]);

    CoreOptions random;
    random.key = KeyFromHex(w["random"]["key"]);
    random.create_if_missing = false;
    auto r = store->Get(random);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE((*r)->writable()) << "a random-name core is writable from its stored name";
    ExpectBlocks(**r, w["random"]["blocks"]);

    auto keys = store->List();
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->size(), 3u);
    ASSERT_TRUE((*def)->Append(AsBytes("from c++")).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  auto read = RunNode("corestore_read", {tmp.path(), "[]", w["random"]["key"]});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const auto& r = *read;
  EXPECT_EQ(r["default"]["length"], 4);
  EXPECT_EQ(r["default"]["blocks"][3], "from c++");
  EXPECT_EQ(r["default"]["writable"], true);
  EXPECT_EQ(r["others"][0]["writable"], true);
}

TEST(CorestoreInterop, WeWriteNodeReadsAndAppendsWeContinue) {
  TempDir tmp;
  std::string def_key, ns_key;
  {
    auto store = std::move(Corestore::OpenDirectory(tmp.path())).value();
    auto def = std::move(store->Default()).value();
    auto ns = std::move(store->Default("drives")).value();
    ASSERT_TRUE(def->Append(AsBytes("one")).ok());
    std::vector<ByteView> batch = {AsBytes("two"), AsBytes("three")};
    ASSERT_TRUE(def->Append(batch).ok());
    ASSERT_TRUE(ns->Append(AsBytes("ns block")).ok());
    def_key = ToHex(def->key());
    ns_key = ToHex(ns->key());
    ASSERT_TRUE(store->Close().ok());
  }
  auto read = RunNode("corestore_read", {tmp.path(), R"(["four from node"])"});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const auto& r = *read;
  EXPECT_EQ(r["default"]["key"], def_key);
  EXPECT_EQ(r["default"]["writable"], true);
  EXPECT_EQ(r["default"]["blocks"], nlohmann::json({"one", "two", "three", "four from node"}));
  EXPECT_EQ(r["ns"]["key"], ns_key);
  EXPECT_EQ(r["ns"]["blocks"], nlohmann::json({"ns block"}));

  auto store = std::move(Corestore::OpenDirectory(tmp.path())).value();
  auto def = std::move(store->Default()).value();
  ExpectBlocks(*def, r["default"]["blocks"]);
  ASSERT_TRUE(def->Append(AsBytes("five")).ok());
  EXPECT_EQ(def->length(), 5u);
}

}  // namespace
}  // namespace hyper::corestore
