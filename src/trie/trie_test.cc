#include "hyper/trie/trie.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "hyper/crypto/crypto.h"
#include "tests/support/event_counter.h"

namespace hyper::trie {
namespace {

class TrieTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    log_ = std::make_shared<MemoryLog>();
    auto t = Trie::Open(log_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    trie_ = std::move(*t);
  }
  std::string GetValue(const Trie& t, const std::string& key, GetOptions o = {}) {
    auto n = t.Get(key, o);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || !*n) return "<none>";
    if (!(*n)->value()) return "<null>";
    return std::string(AsString(*(*n)->value()));
  }
  std::vector<std::string> Keys(const Trie& t, const std::string& prefix, IterateOptions o = {}) {
    auto list = t.List(prefix, o);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> out;
    if (list.ok())
      for (auto& n : *list) out.push_back(n->key());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::shared_ptr<MemoryLog> log_;
  std::unique_ptr<Trie> trie_;
};

TEST_F(TrieTest, HeaderWritten) {
  EXPECT_EQ(log_->length(), 1u);
  auto h = trie_->ReadHeader();
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, "hypertrie");
  EXPECT_FALSE(h->metadata);
  EXPECT_EQ(trie_->version(), 1u);
}

TEST_F(TrieTest, PutGetDel) {
  ASSERT_TRUE(trie_->Put("a", ToBytes("1")).ok());
  ASSERT_TRUE(trie_->Put("b/c", ToBytes("2")).ok());
  ASSERT_TRUE(trie_->Put("/b/d", ToBytes("3")).ok());
  EXPECT_EQ(GetValue(*trie_, "a"), "1");
  EXPECT_EQ(GetValue(*trie_, "/b/c"), "2");
  EXPECT_EQ(GetValue(*trie_, "b/d"), "3");
  EXPECT_EQ(GetValue(*trie_, "b"), "<none>");
  ASSERT_TRUE(trie_->Put("a", ToBytes("4")).ok());
  EXPECT_EQ(GetValue(*trie_, "a"), "4");
  auto d = trie_->Del("b/c");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(*d);
  EXPECT_EQ(GetValue(*trie_, "b/c"), "<none>");
  EXPECT_EQ(GetValue(*trie_, "b/d"), "3");
  auto none = trie_->Del("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  EXPECT_EQ(Keys(*trie_, ""), (std::vector<std::string>{"a", "b/d"}));
}

TEST_F(TrieTest, HiddenKeysAreSeparate) {
  ASSERT_TRUE(trie_->Put("x", ToBytes("plain")).ok());
  PutOptions po;
  po.hidden = true;
  ASSERT_TRUE(trie_->Put("x", ToBytes("secret"), po).ok());
  EXPECT_EQ(GetValue(*trie_, "x"), "plain");
  GetOptions go;
  go.hidden = true;
  EXPECT_EQ(GetValue(*trie_, "x", go), "secret");
  IterateOptions io;
  io.hidden = true;
  EXPECT_EQ(Keys(*trie_, "", io), (std::vector<std::string>{"x"}));
  EXPECT_EQ(Keys(*trie_, ""), (std::vector<std::string>{"x"}));
}

TEST_F(TrieTest, DeleteLastKeyEmptiesTrie) {
  ASSERT_TRUE(trie_->Put("only", ToBytes("1")).ok());
  ASSERT_TRUE(trie_->Del("only").ok());
  EXPECT_EQ(GetValue(*trie_, "only"), "<none>");
  EXPECT_TRUE(Keys(*trie_, "").empty());
  ASSERT_TRUE(trie_->Put("again", ToBytes("2")).ok());
  EXPECT_EQ(Keys(*trie_, ""), (std::vector<std::string>{"again"}));
}

TEST_F(TrieTest, CheckoutSeesOldVersions) {
  ASSERT_TRUE(trie_->Put("a", ToBytes("1")).ok());
  uint64_t v1 = trie_->version();
  ASSERT_TRUE(trie_->Put("a", ToBytes("2")).ok());
  ASSERT_TRUE(trie_->Put("b", ToBytes("3")).ok());
  auto old = trie_->Checkout(v1);
  EXPECT_EQ(GetValue(*old, "a"), "1");
  EXPECT_EQ(GetValue(*old, "b"), "<none>");
  EXPECT_FALSE(old->Put("z", ToBytes("z")).ok());
  EXPECT_EQ(GetValue(*trie_->Checkout(0), "a"), "<none>");
}

TEST_F(TrieTest, IterateOneLevelAndGt) {
  for (std::string k : {"d/a", "d/b", "d/e/f", "d/e/g", "d", "other"}) {
    ASSERT_TRUE(trie_->Put(k, ToBytes(k)).ok());
  }
  EXPECT_EQ(Keys(*trie_, "d"), (std::vector<std::string>{"d", "d/a", "d/b", "d/e/f", "d/e/g"}));
  IterateOptions io;
  io.gt = true;
  EXPECT_EQ(Keys(*trie_, "d", io), (std::vector<std::string>{"d/a", "d/b", "d/e/f", "d/e/g"}));
  io.recursive = false;
  auto one = Keys(*trie_, "d", io);
  ASSERT_EQ(one.size(), 3u);  // d/a, d/b and one representative of d/e
  EXPECT_EQ(one[0], "d/a");
  EXPECT_EQ(one[1], "d/b");
  EXPECT_EQ(one[2].substr(0, 4), "d/e/");
}

TEST_F(TrieTest, BatchNumbersNodesInOrder) {
  std::vector<BatchOp> ops = {BatchOp::Put("a", ToBytes("1")), BatchOp::Put("b", ToBytes("2")),
                              BatchOp::Del("a"), BatchOp::Put("c", ToBytes("3"))};
  auto nodes = trie_->Batch(ops);
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  ASSERT_EQ(nodes->size(), 4u);
  for (size_t i = 0; i < 4; i++) EXPECT_EQ((*nodes)[i]->seq(), i + 1);
  EXPECT_EQ(log_->length(), 5u);
  EXPECT_EQ(Keys(*trie_, ""), (std::vector<std::string>{"b", "c"}));
}

TEST_F(TrieTest, ConditionsAndClosest) {
  ASSERT_TRUE(trie_->Put("dir", ToBytes("mount")).ok());
  PutOptions po;
  po.closest = true;
  std::string seen;
  po.condition = [&](const Node* existing, const Node& node) -> Result<bool> {
    seen = existing ? existing->key() : "";
    return false;
  };
  auto r = trie_->Put("dir/inner", ToBytes("x"), po);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(seen, "dir");
  GetOptions go;
  go.closest = true;
  EXPECT_EQ(GetValue(*trie_, "dir/inner/deep", go), "mount");
}

TEST_F(TrieTest, DiffBetweenVersions) {
  ASSERT_TRUE(trie_->Put("a", ToBytes("1")).ok());
  ASSERT_TRUE(trie_->Put("b", ToBytes("1")).ok());
  uint64_t v = trie_->version();
  ASSERT_TRUE(trie_->Put("a", ToBytes("2")).ok());
  ASSERT_TRUE(trie_->Put("c", ToBytes("2")).ok());
  ASSERT_TRUE(trie_->Del("b").ok());
  auto it = trie_->Diff(v);
  ASSERT_TRUE(it.ok());
  std::map<std::string, std::pair<std::string, std::string>> got;
  while (true) {
    auto e = (*it)->Next();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (!*e) break;
    auto val = [](const NodePtr& n) {
      return n ? std::string(AsString(n->value().value_or(Bytes()))) : std::string("-");
    };
    got[(*e)->key] = {val((*e)->left), val((*e)->right)};
  }
  std::map<std::string, std::pair<std::string, std::string>> want = {
      {"a", {"2", "1"}}, {"b", {"-", "1"}}, {"c", {"2", "-"}}};
  EXPECT_EQ(got, want);
}

// A watch callback that blocks (as one that reads the trie from a peer may) holds up no append:
// it runs on the callbacks executor, not on the thread that appended.
TEST_F(TrieTest, WatchCallbacksRunOffTheAppendingThreadAndDoNotBlockIt) {
  std::mutex gate;
  std::unique_lock hold(gate);
  testing::EventCounter calls;
  std::thread::id appender = std::this_thread::get_id();
  std::atomic<bool> on_appender{false};
  auto w = trie_->Watch("k", [&] {
    if (std::this_thread::get_id() == appender) on_appender = true;
    calls.Add();
    std::lock_guard wait(gate);  // blocks until the test lets go
  });
  ASSERT_TRUE(trie_->Put("k/1", ToBytes("1")).ok());
  ASSERT_TRUE(calls.WaitAtLeast(1));  // the callback now blocks
  for (int i = 2; i < 50; i++) {
    ASSERT_TRUE(trie_->Put("k/" + std::to_string(i), ToBytes("x")).ok());
  }
  hold.unlock();
  ASSERT_TRUE(calls.WaitAtLeast(2));  // the appends made meanwhile are seen after it
  EXPECT_FALSE(on_appender);
  w.reset();
}

TEST_F(TrieTest, HistoryAndWatch) {
  testing::EventCounter changes;
  auto w = trie_->Watch("w", [&] { changes.Add(); });
  EXPECT_EQ(changes.value(), 0);
  ASSERT_TRUE(trie_->Put("w/x", ToBytes("1")).ok());
  ASSERT_TRUE(changes.WaitAtLeast(1));
  ASSERT_TRUE(trie_->Put("other", ToBytes("1")).ok());
  ASSERT_TRUE(trie_->Put("w/y", ToBytes("1")).ok());
  ASSERT_TRUE(changes.WaitAtLeast(2));
  w.reset();  // no callback runs once it returns
  int before = changes.value();
  ASSERT_TRUE(trie_->Put("w/z", ToBytes("1")).ok());
  // A watcher made after it sees its change: the old one's would have been checked before.
  testing::EventCounter later;
  auto w2 = trie_->Watch("none", [&] { later.Add(); });
  ASSERT_TRUE(trie_->Put("none/a", ToBytes("1")).ok());
  ASSERT_TRUE(later.WaitAtLeast(1));
  EXPECT_EQ(changes.value(), before);
  w2.reset();

  auto h = trie_->History();
  std::vector<std::string> keys;
  while (true) {
    auto n = h->Next();
    ASSERT_TRUE(n.ok());
    if (!*n) break;
    keys.push_back((*n)->key());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"w/x", "other", "w/y", "w/z", "none/a"}));
}

TEST_F(TrieTest, CorruptNodeIsAnError) {
  ASSERT_TRUE(trie_->Put("a", ToBytes("1")).ok());
  ASSERT_TRUE(trie_->Put("b", ToBytes("2")).ok());
  log_->Overwrite(2, ToBytes("\x0a\x7f"));
  auto fresh = Trie::Open(log_);  // a new trie: nothing cached
  ASSERT_TRUE(fresh.ok());
  auto r = (*fresh)->Get("b");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

// Lookups from several threads at once through a cache far too small for the trie, so that
// nodes are evicted (and read again) under walks that hold pointers to them, while a writer
// appends: every lookup still finds its own value.
TEST_F(TrieTest, ConcurrentLookupsWithEvictions) {
  std::vector<BatchOp> ops;
  for (int i = 0; i < 2000; i++) {
    ops.push_back(BatchOp::Put("d" + std::to_string(i % 7) + "/k" + std::to_string(i),
                               ToBytes(std::to_string(i))));
  }
  ASSERT_TRUE(trie_->Batch(ops).ok());
  TrieOptions options;
  options.cache_size = 8;
  auto small = Trie::Open(log_, options);
  ASSERT_TRUE(small.ok());
  const Trie& reader = **small;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 3000; n++) {
        int i = (n * 7919 + t * 104729) % 2000;
        auto got = reader.Get("d" + std::to_string(i % 7) + "/k" + std::to_string(i));
        if (!got.ok() || !*got || !(*got)->value() ||
            AsString(*(*got)->value()) != std::to_string(i)) {
          wrong++;
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 200; i++) (void)(*small)->Put("w/" + std::to_string(i), ToBytes("x"));
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(GetValue(reader, "w/199"), "x");
}

// The process-wide budget of cached nodes: past it tries stop adding nodes, every read still
// answers right, and a closed trie gives its share back.
TEST(TrieNodeBudget, TriesStopCachingPastTheProcessBudgetAndStillReadEverything) {
  ASSERT_TRUE(crypto::Init().ok());
  constexpr int kKeys = 3000;
  std::vector<std::shared_ptr<MemoryLog>> logs;
  for (int t = 0; t < 2; ++t) {
    auto log = std::make_shared<MemoryLog>();
    auto trie = Trie::Open(log);
    ASSERT_TRUE(trie.ok());
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(
          (*trie)->Put("k" + std::to_string(i), ToBytes(std::to_string(t * kKeys + i))).ok());
    }
    logs.push_back(log);
  }
  const size_t before = ProcessCachedNodes();
  const size_t budget = before + 500;
  SetProcessNodeBudget(budget);
  {
    std::vector<std::unique_ptr<Trie>> tries;
    for (auto& log : logs) tries.push_back(std::move(Trie::Open(log)).value());
    for (int round = 0; round < 2; ++round) {
      for (size_t t = 0; t < tries.size(); ++t) {
        for (int i = 0; i < kKeys; ++i) {
          auto n = tries[t]->Get("k" + std::to_string(i));
          ASSERT_TRUE(n.ok() && *n) << i;
          ASSERT_EQ(AsString(*(*n)->value()), std::to_string(static_cast<int>(t) * kKeys + i));
        }
        EXPECT_LE(ProcessCachedNodes(), budget);
      }
    }
    EXPECT_GE(ProcessCachedNodes(), budget - 100) << "the budget is used, not left idle";
  }
  EXPECT_EQ(ProcessCachedNodes(), before) << "closed tries give their nodes back";
  SetProcessNodeBudget(SIZE_MAX);
}

}  // namespace
}  // namespace hyper::trie
