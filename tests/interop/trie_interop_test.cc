// Our trie against the Node reference (hypertrie 5.1.3, mountable-hypertrie 2.8.0): the same
// operations give the same blocks, and both answer the same queries the same way.
#include <gtest/gtest.h>

#include "hyper/crypto/crypto.h"
#include "tests/interop/trie_ops.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::trie {
namespace {

using testing::json;
constexpr const char* kSeed = "0101010101010101010101010101010101010101010101010101010101010101";

json Queries(const std::vector<uint64_t>& versions) {
  json q;
  q["lists"] = json::array();
  q["gets"] = json::array();
  q["diffs"] = json::array();
  q["history"] = json::array();
  for (uint64_t v : versions) {
    json ver = v == 0 ? json(nullptr) : json(v);
    q["lists"].push_back({{"version", ver}, {"prefix", ""}});
    q["lists"].push_back({{"version", ver}, {"prefix", ""}, {"hidden", true}});
    q["lists"].push_back({{"version", ver}, {"prefix", "a"}, {"recursive", false}});
    q["lists"].push_back({{"version", ver}, {"prefix", "/dir"}, {"gt", true}});
    q["lists"].push_back({{"version", ver}, {"prefix", "b/c"}});
    for (std::string k : {"a", "a/", "/a", "a/b", "dir/x y", "b/é/c", "c/c/c/c", "nope/deeper"}) {
      q["gets"].push_back({{"version", ver}, {"key", k}});
      q["gets"].push_back({{"version", ver}, {"key", k}, {"closest", true}});
      q["gets"].push_back({{"version", ver}, {"key", k}, {"hidden", true}});
    }
    q["history"].push_back({{"version", ver}});
  }
  for (size_t i = 0; i < versions.size(); i++) {
    for (size_t j = 0; j < versions.size(); j++) {
      if (i == j) continue;
      json a = versions[i] == 0 ? json(nullptr) : json(versions[i]);
      q["diffs"].push_back({{"a", a}, {"b", versions[j]}, {"prefix", ""}});
      q["diffs"].push_back({{"a", a}, {"b", versions[j]}, {"prefix", "a"}});
      q["diffs"].push_back({{"a", a}, {"b", versions[j]}, {"prefix", ""}, {"hidden", true}});
    }
  }
  return q;
}

void CompareAnswers(const json& ours, const json& theirs, const json& q) {
  for (std::string kind : {"lists", "gets", "diffs", "history"}) {
    ASSERT_EQ(ours[kind].size(), theirs[kind].size()) << kind;
    for (size_t i = 0; i < ours[kind].size(); i++) {
      EXPECT_EQ(ours[kind][i], theirs[kind][i]) << kind << " #" << i << ": " << q[kind][i].dump();
    }
  }
}

class TrieInterop : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init().ok()); }

  // Runs `ops` on both sides; expects identical blocks and identical answers.
  void RunBoth(const json& ops, std::optional<Bytes> metadata = std::nullopt) {
    auto log = std::make_shared<MemoryLog>();
    TrieOptions to;
    to.metadata = metadata;
    auto trie = Trie::Open(log, to);
    ASSERT_TRUE(trie.ok());
    Status st = testing::ApplyOps(**trie, ops);
    ASSERT_TRUE(st.ok()) << st.ToString();
    uint64_t len = log->length();
    std::vector<uint64_t> versions = {0, 1, 2, len / 3 + 1, len / 2, len - 1};

    ::hyper::testing::TempDir dir;
    json in = Queries(versions);
    in["dir"] = dir.Sub("node");
    in["seed"] = kSeed;
    in["metadata"] = metadata ? json(ToHex(*metadata)) : json(nullptr);
    in["ops"] = ops;
    in["blocks"] = true;
    auto node = ::hyper::testing::RunNode("trie_ops", {}, in.dump());
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    const json& out = *node;
    ASSERT_EQ(out["length"].get<uint64_t>(), len);
    for (uint64_t i = 0; i < len; i++) {
      auto ours = log->Get(i);
      ASSERT_TRUE(ours.ok());
      ASSERT_EQ(ToHex(*ours), out["blocks"][i].get<std::string>()) << "block " << i;
    }
    CompareAnswers(testing::Answer(**trie, in), out, in);
  }
};

TEST_F(TrieInterop, SimpleOpsSameBlocks) {
  json ops = json::parse(R"([
    {"op":"put","key":"hello","value":"776f726c64"},
    {"op":"put","key":"/a/b/c","value":"01"},
    {"op":"put","key":"a/b/d","value":null},
    {"op":"put","key":"a","value":"02","hidden":true,"flags":5},
    {"op":"put","key":"a/","value":"03"},
    {"op":"put","key":"a","value":"04"},
    {"op":"del","key":"a/b/c"},
    {"op":"del","key":"missing"},
    {"op":"batch","ops":[{"type":"put","key":"x","value":"05"},{"type":"del","key":"hello"},
                         {"type":"put","key":"dir/x y","value":"06"}]},
    {"op":"del","key":"a","hidden":true}
  ])");
  RunBoth(ops, ToBytes("metadata"));
}

TEST_F(TrieInterop, DeleteEverythingThenWriteAgain) {
  json ops = json::parse(R"([
    {"op":"put","key":"a","value":"01"},
    {"op":"del","key":"a"},
    {"op":"put","key":"b","value":"02"},
    {"op":"del","key":"b"},
    {"op":"batch","ops":[{"type":"put","key":"c","value":"03"},{"type":"put","key":"a/b","value":"04"}]}
  ])");
  // (A batch that empties the trie and then puts again makes the reference's iterator crash on
  // the empty-key node it links to; see docs/formats/hypertrie.md. We skip such nodes.)
  RunBoth(ops);
}

TEST_F(TrieInterop, RandomOpsSameBlocksAndAnswers) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RunBoth(testing::RandomOps(seed, 250));
    if (HasFatalFailure()) return;
  }
}

TEST_F(TrieInterop, MountsSameBlocks) {
  json ops = json::parse(R"([
    {"op":"put","key":"a/file","value":"01"},
    {"op":"mount","path":"/m","key":"0202020202020202020202020202020202020202020202020202020202020202"},
    {"op":"mount","path":"a/deep/n","key":"0303030303030303030303030303030303030303030303030303030303030303",
     "version":7,"remotePath":"/sub/dir"},
    {"op":"put","key":"a/other","value":"02"},
    {"op":"unmount","path":"/m"}
  ])");
  RunBoth(ops);
}

}  // namespace
}  // namespace hyper::trie
