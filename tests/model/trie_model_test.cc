// Model test: random puts, deletes and batches (plain and hidden keys, keys that differ only by
// a trailing slash) against a std::map kept for every version; checkouts, gets, listings and
// diffs must agree with the model at every version.
//
// The model follows the reference's semantics for keys with the same segments ("a" and "a/"):
// they occupy one slot (the last put wins, and a get of either returns that node), and a delete
// only removes the slot when its key string is exactly the one stored.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "hyper/crypto/crypto.h"
#include "hyper/trie/trie.h"

namespace hyper::trie {
namespace {

// (hidden, segments) -> (stored key, value)
using Model = std::map<std::pair<bool, std::string>, std::pair<std::string, std::string>>;

std::string Canon(const std::string& key) {
  std::string out;
  for (const std::string& s : SplitKey(key)) out += (out.empty() ? "" : "/") + s;
  return out;
}

void ModelPut(Model& m, bool hidden, const std::string& k, const std::string& v) {
  m[{hidden, Canon(k)}] = {k, v};
}
bool ModelDel(Model& m, bool hidden, const std::string& k) {
  auto it = m.find({hidden, Canon(k)});
  if (it == m.end() || it->second.first != k) return false;
  m.erase(it);
  return true;
}

std::string Val(const NodePtr& n) {
  return n && n->value() ? std::string(AsString(*n->value())) : std::string("<none>");
}

TEST(TrieModel, RandomOpsAgreeWithMapAtEveryVersion) {
  ASSERT_TRUE(crypto::Init().ok());
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    auto log = std::make_shared<MemoryLog>();
    auto opened = Trie::Open(log);
    ASSERT_TRUE(opened.ok());
    Trie& trie = **opened;
    std::vector<std::string> keys;
    for (const char* a : {"a", "b", "cc", "d/e"}) {
      for (const char* b : {"", "/x", "/y/z", "/", "/x/"}) keys.push_back(std::string(a) + b);
    }
    std::map<uint64_t, Model> at;  // version -> model
    Model model;
    at[trie.version()] = model;
    for (int step = 0; step < 600; step++) {
      int r = pick(10);
      auto key = [&] { return keys[pick(static_cast<int>(keys.size()))]; };
      if (r < 5) {
        PutOptions o;
        o.hidden = pick(5) == 0;
        std::string k = key(), v = "v" + std::to_string(step);
        ASSERT_TRUE(trie.Put(k, ToBytes(v), o).ok());
        ModelPut(model, o.hidden, k, v);
      } else if (r < 8) {
        DelOptions o;
        o.hidden = pick(5) == 0;
        std::string k = key();
        auto d = trie.Del(k, o);
        ASSERT_TRUE(d.ok()) << d.status().ToString();
        EXPECT_EQ(*d != nullptr, ModelDel(model, o.hidden, k)) << "del " << k;
      } else {
        std::vector<BatchOp> ops;
        int n = 1 + pick(5);
        for (int i = 0; i < n; i++) {
          bool hidden = pick(5) == 0;
          std::string k = key();
          if (pick(3) == 0) {
            ops.push_back(BatchOp::Del(k, hidden));
            ModelDel(model, hidden, k);
          } else {
            std::string v = "b" + std::to_string(step) + "." + std::to_string(i);
            ops.push_back(BatchOp::Put(k, ToBytes(v), hidden));
            ModelPut(model, hidden, k, v);
          }
        }
        ASSERT_TRUE(trie.Batch(ops).ok());
      }
      at[trie.version()] = model;
    }

    auto check = [&](const Trie& t, const Model& m) {
      for (bool hidden : {false, true}) {
        for (const std::string& k : keys) {
          GetOptions o;
          o.hidden = hidden;
          auto n = t.Get(k, o);
          ASSERT_TRUE(n.ok());
          auto it = m.find({hidden, Canon(k)});
          EXPECT_EQ(Val(*n), it == m.end() ? "<none>" : it->second.second)
              << k << " v" << t.version();
          if (it != m.end() && *n) {
            EXPECT_EQ((*n)->key(), it->second.first);
          }
        }
        IterateOptions io;
        io.hidden = hidden;
        auto list = t.List("", io);
        ASSERT_TRUE(list.ok());
        std::map<std::string, std::string> listed, want;
        for (auto& n : *list) {
          EXPECT_EQ(n->hidden(), hidden);
          EXPECT_TRUE(listed.emplace(n->key(), Val(n)).second) << "listed twice: " << n->key();
        }
        for (auto& [k, v] : m) {
          if (k.first == hidden) want[v.first] = v.second;
        }
        EXPECT_EQ(listed, want) << "version " << t.version();
      }
    };
    // Every version (the head and checkouts); nodes of the empty key hide nothing.
    for (auto& [v, m] : at) check(*trie.Checkout(v), m);
    check(trie, model);

    // Diffs between random pairs of versions agree with the models.
    std::vector<uint64_t> versions;
    for (auto& [v, m] : at) versions.push_back(v);
    for (int i = 0; i < 40; i++) {
      uint64_t va = versions[pick(static_cast<int>(versions.size()))];
      uint64_t vb = versions[pick(static_cast<int>(versions.size()))];
      auto a = trie.Checkout(va);
      auto it = a->Diff(vb);
      ASSERT_TRUE(it.ok());
      std::set<std::string> seen;
      while (true) {
        auto e = (*it)->Next();
        ASSERT_TRUE(e.ok());
        if (!*e) break;
        const auto& ma = at[va];
        const auto& mb = at[vb];
        auto look = [&](const Model& m, const std::string& k) {
          auto f = m.find({false, Canon(k)});
          return f == m.end() ? std::string("<none>") : f->second.second;
        };
        EXPECT_EQ(Val((*e)->left), look(ma, (*e)->key)) << (*e)->key << " " << va << "/" << vb;
        EXPECT_EQ(Val((*e)->right), look(mb, (*e)->key)) << (*e)->key << " " << va << "/" << vb;
        seen.insert((*e)->key);
      }
      for (const std::string& k : keys) {
        auto fa = at[va].find({false, Canon(k)});
        auto fb = at[vb].find({false, Canon(k)});
        bool in_a = fa != at[va].end(), in_b = fb != at[vb].end();
        if (in_a == in_b && (!in_a || fa->second == fb->second)) continue;
        std::set<std::string> names;
        if (in_a) names.insert(fa->second.first);
        if (in_b) names.insert(fb->second.first);
        bool found = false;
        for (auto& nm : names) found = found || seen.count(nm) > 0;
        EXPECT_TRUE(found) << "diff " << va << "/" << vb << " misses " << k;
      }
    }
  }
}

}  // namespace
}  // namespace hyper::trie
