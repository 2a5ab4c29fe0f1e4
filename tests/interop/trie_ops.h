// Shared by the trie interop tests: a JSON list of operations that both the Node reference
// (scripts/trie_ops.js) and our Trie apply, and the JSON form of nodes and diffs.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "hyper/trie/mount.h"
#include "hyper/trie/trie.h"

namespace hyper::trie::testing {

using json = nlohmann::json;

inline std::optional<Bytes> JsonValue(const json& v) {
  if (!v.is_string()) return std::nullopt;
  auto b = FromHex(v.get<std::string>());
  return b.ok() ? std::optional<Bytes>(*b) : std::nullopt;
}

inline std::string BulkKey(const std::string& layout, const std::string& prefix, uint64_t i) {
  if (layout == "deep") {
    return prefix + "d" + std::to_string(i % 7) + "/e" + std::to_string(i % 13) + "/f" +
           std::to_string(i % 101) + "/k" + std::to_string(i);
  }
  return prefix + "k" + std::to_string(i);
}

inline Status ApplyOps(Trie& trie, const json& ops) {
  for (const json& op : ops) {
    const std::string kind = op.at("op");
    if (kind == "put") {
      PutOptions o;
      o.hidden = op.value("hidden", false);
      o.flags = op.value("flags", 0);
      auto r = trie.Put(op.at("key").get<std::string>(), JsonValue(op.at("value")), o);
      if (!r.ok()) return r.status();
    } else if (kind == "del") {
      DelOptions o;
      o.hidden = op.value("hidden", false);
      auto r = trie.Del(op.at("key").get<std::string>(), o);
      if (!r.ok()) return r.status();
    } else if (kind == "batch") {
      std::vector<BatchOp> batch;
      for (const json& b : op.at("ops")) {
        if (b.at("type") == "del") {
          batch.push_back(BatchOp::Del(b.at("key"), b.value("hidden", false)));
        } else {
          batch.push_back(BatchOp::Put(b.at("key"), JsonValue(b.at("value")),
                                       b.value("hidden", false), b.value("flags", 0)));
        }
      }
      auto r = trie.Batch(batch);
      if (!r.ok()) return r.status();
    } else if (kind == "mount") {
      MountOptions o;
      if (op.contains("version") && !op["version"].is_null()) o.version = op["version"];
      if (op.contains("remotePath") && !op["remotePath"].is_null()) {
        o.remote_path = op["remotePath"].get<std::string>();
      }
      auto key = FromHex(op.at("key").get<std::string>());
      if (!key.ok()) return key.status();
      RETURN_IF_ERROR(WriteMount(trie, op.at("path").get<std::string>(), *key, o));
    } else if (kind == "unmount") {
      RETURN_IF_ERROR(WriteUnmount(trie, op.at("path").get<std::string>()));
    } else if (kind == "bulk") {
      uint64_t count = op.at("count");
      uint64_t size = op.value("batch", 1000);
      std::string layout = op.value("layout", "flat");
      std::string prefix = op.value("prefix", "");
      for (uint64_t i = 0; i < count; i += size) {
        std::vector<BatchOp> batch;
        for (uint64_t j = i; j < std::min(count, i + size); j++) {
          batch.push_back(
              BatchOp::Put(BulkKey(layout, prefix, j), ToBytes("v" + std::to_string(j))));
        }
        auto r = trie.Batch(batch);
        if (!r.ok()) return r.status();
      }
    } else {
      return Status::InvalidArgument("unknown op " + kind);
    }
  }
  return Status::Ok();
}

inline json NodeJson(const NodePtr& n) {
  if (!n) return nullptr;
  json j;
  j["key"] = n->key();
  j["value"] = n->value() ? json(ToHex(*n->value())) : json(nullptr);
  j["seq"] = n->seq();
  j["flags"] = n->flags();
  j["hidden"] = n->hidden();
  return j;
}

// A random mix of puts, deletes, hidden keys, flags and batches over a small key space (so
// that deletes hit and keys share segments; includes "a" vs "a/" style collisions).
inline json RandomOps(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  auto key = [&]() {
    static const char* kSegs[] = {"a", "b", "c", "dir", "x y", "é", "longer-segment-name"};
    int depth = 1 + pick(4);
    std::string k = pick(5) == 0 ? "/" : "";
    for (int d = 0; d < depth; d++) {
      if (d) k += "/";
      k += kSegs[pick(7)];
    }
    if (pick(12) == 0) k += "/";
    return k;
  };
  auto value = [&]() -> json {
    if (pick(10) == 0) return nullptr;
    std::string v;
    int len = pick(20);
    for (int i = 0; i < len; i++) v += static_cast<char>(rng());
    return ToHex(AsBytes(v));
  };
  json ops = json::array();
  for (int i = 0; i < count; i++) {
    int r = pick(10);
    if (r < 5) {
      ops.push_back({{"op", "put"},
                     {"key", key()},
                     {"value", value()},
                     {"hidden", pick(6) == 0},
                     {"flags", pick(4) == 0 ? pick(300) : 0}});
    } else if (r < 8) {
      ops.push_back({{"op", "del"}, {"key", key()}, {"hidden", pick(6) == 0}});
    } else {
      json b = json::array();
      int n = 1 + pick(6);
      for (int j = 0; j < n; j++) {
        if (pick(3) == 0) {
          b.push_back({{"type", "del"}, {"key", key()}, {"hidden", pick(6) == 0}});
        } else {
          b.push_back({{"type", "put"},
                       {"key", key()},
                       {"value", value()},
                       {"hidden", pick(6) == 0},
                       {"flags", pick(4) == 0 ? pick(300) : 0}});
        }
      }
      ops.push_back({{"op", "batch"}, {"ops", b}});
    }
  }
  return ops;
}

// Our answers to the queries that scripts/trie_ops.js answers (lists, gets, diffs, history
// at versions), in its JSON shape.
inline json Answer(const Trie& trie, const json& q) {
  auto at = [&](const json& v) {
    return v.is_null() ? trie.Snapshot() : trie.Checkout(v.get<uint64_t>());
  };
  json out;
  out["lists"] = json::array();
  for (const json& l : q["lists"]) {
    IterateOptions o;
    o.recursive = l.value("recursive", true);
    o.hidden = l.value("hidden", false);
    o.gt = l.value("gt", false);
    auto list = at(l["version"])->List(l["prefix"].get<std::string>(), o);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    json arr = json::array();
    if (list.ok())
      for (auto& n : *list) arr.push_back(NodeJson(n));
    out["lists"].push_back(arr);
  }
  out["gets"] = json::array();
  for (const json& g : q["gets"]) {
    GetOptions o;
    o.hidden = g.value("hidden", false);
    o.closest = g.value("closest", false);
    auto n = at(g["version"])->Get(g["key"].get<std::string>(), o);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out["gets"].push_back(n.ok() ? NodeJson(*n) : json("error"));
  }
  out["diffs"] = json::array();
  for (const json& d : q["diffs"]) {
    DiffOptions o;
    o.hidden = d.value("hidden", false);
    auto it = at(d["a"])->Diff(d["b"].get<uint64_t>(), d["prefix"].get<std::string>(), o);
    EXPECT_TRUE(it.ok());
    json arr = json::array();
    while (it.ok()) {
      auto e = (*it)->Next();
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      if (!e.ok() || !*e) break;
      arr.push_back(
          {(*e)->key, (*e)->left ? (*e)->left->seq() : 0, (*e)->right ? (*e)->right->seq() : 0});
    }
    out["diffs"].push_back(arr);
  }
  out["history"] = json::array();
  for (const json& h : q["history"]) {
    auto t = at(h["version"]);
    auto it = t->History();
    json arr = json::array();
    while (true) {
      auto n = it->Next();
      EXPECT_TRUE(n.ok());
      if (!n.ok() || !*n) break;
      arr.push_back((*n)->seq());
    }
    out["history"].push_back(arr);
  }
  return out;
}

}  // namespace hyper::trie::testing
