// Reading through mounts written by the reference (mountable-hypertrie 2.8): the same gets and
// listings, in the same order, as mountable-hypertrie sees them.
#include <gtest/gtest.h>

#include "hyper/core/feed.h"
#include "hyper/crypto/crypto.h"
#include "hyper/storage/file.h"
#include "hyper/trie/mount.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::trie {
namespace {

using json = nlohmann::json;

Result<std::unique_ptr<Trie>> OpenReadOnly(const std::string& dir, const std::string& seed) {
  core::FeedOptions o;
  o.key = crypto::KeyPairFromSeed(*FromHex(seed)).public_key;
  ASSIGN_OR_RETURN(auto feed, core::Feed::Open(storage::PosixDirectory(dir), o));
  return Trie::Open(std::shared_ptr<core::Feed>(std::move(feed)));
}

TEST(TrieMountInterop, ReadsThroughNodeMountsLikeNode) {
  ASSERT_TRUE(crypto::Init().ok());
  ::hyper::testing::TempDir dir;
  const std::string root_seed(64, '1'), sub_seed(64, '2');
  json in;
  in["dir"] = dir.path();
  in["rootSeed"] = root_seed;
  in["subSeed"] = sub_seed;
  in["gets"] = {"top", "m/f", "/m/dir/g", "old/dir/g", "old/dir/h", "m", "m/nope", "zz/after"};
  in["lists"] = json::array({json{{"prefix", ""}}, json{{"prefix", "m"}},
                             json{{"prefix", ""}, {"recursive", false}},
                             json{{"prefix", "old"}, {"gt", true}}});
  auto theirs = ::hyper::testing::RunNode("trie_mounts", {}, in.dump());
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();

  auto root = OpenReadOnly(dir.Sub("root"), root_seed);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  auto sub = OpenReadOnly(dir.Sub("sub"), sub_seed);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  std::vector<std::unique_ptr<Trie>> checkouts;
  MountResolver resolver = [&](const MountInfo& info) -> Result<const Trie*> {
    if (info.key != (*sub)->key()) return Status::NotFound("unknown mount key");
    if (!info.version) return sub->get();
    checkouts.push_back((*sub)->Checkout(*info.version));
    return checkouts.back().get();
  };
  MountView view(**root, resolver);

  for (size_t i = 0; i < in["gets"].size(); i++) {
    auto got = view.Get(in["gets"][i].get<std::string>());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    json ours = nullptr;
    if (got->node) {
      ours = {{"key", got->key}, {"value", ToHex(got->node->value().value_or(Bytes()))}};
    }
    EXPECT_EQ(ours, (*theirs)["gets"][i]) << in["gets"][i];
  }
  for (size_t i = 0; i < in["lists"].size(); i++) {
    const json& q = in["lists"][i];
    MountIterateOptions o;
    o.recursive = q.value("recursive", true);
    o.gt = q.value("gt", false);
    auto list = view.List(q["prefix"].get<std::string>(), o);
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    json keys = json::array();
    for (auto& n : *list) keys.push_back(n.key);
    EXPECT_EQ(keys, (*theirs)["lists"][i]) << q.dump();
  }
}

}  // namespace
}  // namespace hyper::trie
