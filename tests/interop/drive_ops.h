// Shared by the drive interop tests: the operation lists of scripts/drive_apply.js applied to
// our Drive, and our answers to scripts/drive_dump.js's queries in the same JSON shape.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"

namespace hyper::drive::testing {

using json = nlohmann::json;

// Byte j of generated content (scripts/drive_common.js genBytes).
inline Bytes GenBytes(uint64_t seed, size_t size) {
  Bytes b(size);
  for (size_t j = 0; j < size; j++) b[j] = static_cast<uint8_t>(seed * 131 + j * 7 + (j >> 9));
  return b;
}

inline Bytes DataOf(const json& d) {
  if (d.is_null()) return {};
  if (d.contains("text")) return ToBytes(d["text"].get<std::string>());
  return GenBytes(d["seed"].get<uint64_t>(), d["size"].get<size_t>());
}

inline uint32_t Fnv(ByteView b) {
  uint32_t h = 0x811c9dc5u;
  for (uint8_t c : b) {
    h ^= c;
    h *= 0x01000193u;
  }
  return h;
}

inline WriteOptions OptsOf(const json& o) {
  WriteOptions w;
  if (o.is_null()) return w;
  if (o.contains("mode")) w.mode = o["mode"].get<uint32_t>();
  if (o.contains("uid")) w.uid = o["uid"].get<uint32_t>();
  if (o.contains("gid")) w.gid = o["gid"].get<uint32_t>();
  if (o.contains("mtime")) w.mtime = o["mtime"].get<uint64_t>();
  if (o.contains("ctime")) w.ctime = o["ctime"].get<uint64_t>();
  if (o.contains("metadata")) {
    for (const auto& kv : o["metadata"]) {
      SetMetadataEntry(w.metadata, kv[0].get<std::string>(), ToBytes(kv[1].get<std::string>()));
    }
  }
  return w;
}

inline std::string ErrorName(const Status& s) {
  if (s.code() == Code::kNotFound) return "NotFound";
  if (s.code() == Code::kExists) return "Exists";
  if (s.code() == Code::kNotEmpty) return "NotEmpty";
  return s.ToString();
}

// Applies the ops; returns {results, marks} as drive_apply.js does (without keys).
inline json Apply(Drive& drive, const json& ops) {
  json results = json::array();
  json marks = json::array();
  for (const json& o : ops) {
    const std::string op = o["op"];
    Status s;
    if (op == "writeFile") {
      Bytes data = DataOf(o.value("data", json()));
      auto r = drive.WriteFile(o["path"].get<std::string>(), data, OptsOf(o.value("opts", json())));
      s = r.ok() ? Status::Ok() : r.status();
    } else if (op == "writeChunks") {
      auto w = drive.CreateWriter(o["path"].get<std::string>(), OptsOf(o.value("opts", json())));
      if (!w.ok()) {
        s = w.status();
      } else {
        for (const json& c : o["chunks"]) {
          Bytes data = DataOf(c);
          if (s.ok()) s = (*w)->Write(data);
        }
        auto closed = (*w)->Close();
        if (s.ok() && !closed.ok()) s = closed.status();
      }
    } else if (op == "mkdir") {
      s = drive.Mkdir(o["path"].get<std::string>(), OptsOf(o.value("opts", json())));
    } else if (op == "symlink") {
      s = drive.Symlink(o["target"].get<std::string>(), o["path"].get<std::string>());
    } else if (op == "unlink") {
      s = drive.Unlink(o["path"].get<std::string>());
    } else if (op == "rmdir") {
      s = drive.Rmdir(o["path"].get<std::string>());
    } else if (op == "setMetadata") {
      s = drive.SetMetadata(o["path"].get<std::string>(), o["key"].get<std::string>(),
                            ToBytes(o["value"].get<std::string>()));
    } else if (op == "removeMetadata") {
      s = drive.RemoveMetadata(o["path"].get<std::string>(), o["key"].get<std::string>());
    } else if (op == "tag") {
      s = drive.CreateTag(o["name"].get<std::string>());
    } else if (op == "deleteTag") {
      s = drive.DeleteTag(o["name"].get<std::string>());
    } else if (op == "mark") {
      marks.push_back(drive.version());
    } else {
      s = Status::InvalidArgument("unknown op " + op);
    }
    results.push_back(s.ok() ? json(nullptr) : json(ErrorName(s)));
  }
  return {{"results", results}, {"marks", marks}};
}

inline json DescribeStat(const Stat& st) {
  json meta = json::array();
  for (const auto& [k, v] : st.metadata) {
    meta.push_back({k, v ? json(ToHex(*v)) : json(nullptr)});
  }
  json out = {{"mode", st.mode},
              {"uid", st.uid},
              {"gid", st.gid},
              {"size", st.size},
              {"blocks", st.blocks},
              {"offset", st.offset},
              {"byteOffset", st.byte_offset},
              {"mtime", st.mtime},
              {"ctime", st.ctime},
              {"linkname", st.linkname},
              {"metadata", meta}};
  if (st.mount) {
    out["mount"] = {{"key", ToHex(st.mount->key)}, {"version", st.mount->version.value_or(0)}};
  }
  return out;
}

inline json View(const Drive& drive, const json& q) {
  json stats = json::object();
  for (const json& pj : q["paths"]) {
    const std::string path = pj;
    json e;
    auto node = drive.trie().Get(TrieKeyOf(*NormalizePath(path)));
    auto lst = drive.Lstat(path);
    if (!lst.ok()) {
      e["lstat"] = {{"error", ErrorName(lst.status())}};
    } else if (node.ok() && *node) {
      e["lstat"] = DescribeStat(*lst);
      e["hex"] = ToHex(*(*node)->value());
    } else {
      e["lstat"] = {{"mode", lst->mode}, {"implicit", true}};
    }
    auto st = drive.GetStat(path);
    if (!st.ok()) {
      e["stat"] = {{"error", ErrorName(st.status())}};
    } else {
      e["stat"] = {
          {"mode", st->mode}, {"size", st->size}, {"blocks", st->blocks}, {"offset", st->offset}};
      if (st->IsFile()) {
        auto data = drive.ReadFile(path);
        if (data.ok()) {
          e["content"] = {{"length", data->size()}, {"fnv", Fnv(*data)}};
        } else {
          e["content"] = {{"error", ErrorName(data.status())}};
        }
      }
    }
    stats[path] = e;
  }
  json dirs = json::array();
  for (const json& d : q["dirs"]) {
    ReaddirOptions o;
    o.recursive = d.value("recursive", false);
    auto list = drive.Readdir(d["path"].get<std::string>(), o);
    if (!list.ok()) {
      dirs.push_back({{"error", ErrorName(list.status())}});
      continue;
    }
    json names = json::array();
    for (const auto& entry : *list) names.push_back(entry.name);
    dirs.push_back(names);
  }
  json ranges = json::array();
  for (const json& r : q["ranges"]) {
    auto data = drive.ReadRange(r["path"].get<std::string>(), r["start"].get<uint64_t>(),
                                r["length"].get<uint64_t>());
    if (!data.ok()) {
      ranges.push_back({{"error", ErrorName(data.status())}});
    } else {
      ranges.push_back({{"length", data->size()}, {"fnv", Fnv(*data)}});
    }
  }
  return {{"version", drive.version()}, {"stats", stats}, {"dirs", dirs}, {"ranges", ranges}};
}

// Our answer to drive_dump.js's query.
inline json Dump(const Drive& drive, const json& q) {
  json out;
  out["writable"] = drive.writable();
  out["views"] = json::array();
  out["views"].push_back(View(drive, q));
  for (const json& v : q["versions"]) {
    auto co = drive.Checkout(v.get<uint64_t>());
    EXPECT_TRUE(co.ok());
    if (co.ok()) out["views"].push_back(View(**co, q));
  }
  out["diffs"] = json::array();
  for (const json& d : q["diffs"]) {
    json entries = json::array();
    auto diff = drive.Diff(d["version"].get<uint64_t>(), d["prefix"].get<std::string>());
    EXPECT_TRUE(diff.ok()) << diff.status().ToString();
    if (diff.ok()) {
      for (const auto& e : *diff) {
        static const char* const kTypes[] = {"put", "del", "mount", "unmount"};
        json x = {{"type", kTypes[static_cast<int>(e.type)]}, {"name", e.name}};
        if (e.seq) x["seq"] = *e.seq;
        if (e.previous_seq) x["previous"] = *e.previous_seq;
        if (e.type == DiffEntry::Type::kPut && e.value) x["hex"] = ToHex(e.value->Encode());
        entries.push_back(x);
      }
    }
    out["diffs"].push_back(entries);
  }
  out["tags"] = json::object();
  auto tags = drive.GetAllTags();
  EXPECT_TRUE(tags.ok());
  if (tags.ok()) {
    for (const auto& [k, v] : *tags) out["tags"][k] = v;
  }
  return out;
}

}  // namespace hyper::drive::testing
