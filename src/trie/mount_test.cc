#include "hyper/trie/mount.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "hyper/crypto/crypto.h"

namespace hyper::trie {
namespace {

// A few tries in memory, each on its own log with its own key, and a resolver over them.
class TrieMountTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init().ok()); }

  Trie& Make(uint8_t id) {
    auto log = std::make_shared<MemoryLog>(Bytes(32, id));
    auto t = Trie::Open(log);
    EXPECT_TRUE(t.ok());
    Trie& ref = **t;
    tries_[id] = std::move(*t);
    return ref;
  }
  MountResolver Resolver() {
    return [this](const MountInfo& info) -> Result<const Trie*> {
      if (info.key.size() != 32 || !tries_.count(info.key[0])) {
        return Status::NotFound("no such trie");
      }
      const Trie* t = tries_[info.key[0]].get();
      if (info.version) {
        checkouts_.push_back(t->Checkout(*info.version));
        t = checkouts_.back().get();
      }
      return t;
    };
  }
  static std::string Value(const MountedNode& n) {
    if (!n.node) return "<none>";
    return std::string(AsString(n.node->value().value_or(Bytes())));
  }

  std::map<uint8_t, std::unique_ptr<Trie>> tries_;
  std::vector<std::unique_ptr<Trie>> checkouts_;
};

TEST_F(TrieMountTest, RecordRoundTrip) {
  MountInfo info;
  info.key = Bytes(32, 9);
  info.local_path = "a/b";
  info.version = 4;
  info.remote_path = "x";
  auto dec = MountInfo::Decode(info.Encode());
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->key, info.key);
  EXPECT_EQ(dec->local_path, "a/b");
  EXPECT_EQ(dec->version, 4u);
  EXPECT_EQ(dec->remote_path, "x");
  EXPECT_FALSE(MountInfo::Decode(*FromHex("0a02aabb")).ok());  // no local path
  EXPECT_FALSE(MountInfo::Decode(*FromHex("0a05aa")).ok());    // truncated
}

TEST_F(TrieMountTest, PosixJoin) {
  EXPECT_EQ(PosixJoin("/mounts", "a/b"), "/mounts/a/b");
  EXPECT_EQ(PosixJoin("/mounts", ""), "/mounts");
  EXPECT_EQ(PosixJoin("a//b/./c/../d", ""), "a/b/d");
  EXPECT_EQ(PosixJoin("a/", ""), "a/");
  EXPECT_EQ(PosixJoin("", ""), ".");
  EXPECT_EQ(PosixJoin("/x", "y"), "/x/y");
}

TEST_F(TrieMountTest, GetAndListThroughMounts) {
  Trie& root = Make(1);
  Trie& sub = Make(2);
  Trie& subsub = Make(3);
  ASSERT_TRUE(subsub.Put("deep/file", ToBytes("3")).ok());
  ASSERT_TRUE(sub.Put("f", ToBytes("2")).ok());
  ASSERT_TRUE(sub.Put("dir/g", ToBytes("2g")).ok());
  ASSERT_TRUE(WriteMount(sub, "inner", Bytes(32, 3)).ok());
  ASSERT_TRUE(root.Put("top", ToBytes("1")).ok());
  ASSERT_TRUE(WriteMount(root, "/m", Bytes(32, 2)).ok());

  MountView view(root, Resolver());
  auto top = view.Get("top");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(Value(*top), "1");
  auto f = view.Get("/m/f");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Value(*f), "2");
  EXPECT_EQ(f->key, "m/f");
  EXPECT_EQ(f->trie, &sub);
  auto deep = view.Get("m/inner/deep/file");
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(Value(*deep), "3");
  EXPECT_EQ(deep->key, "m/inner/deep/file");
  auto none = view.Get("m/nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->node);
  auto mountpoint = view.Get("m");
  ASSERT_TRUE(mountpoint.ok());
  ASSERT_TRUE(mountpoint->node);
  EXPECT_TRUE(IsMountNode(*mountpoint->node));

  auto list = view.List("");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::set<std::string> keys;
  for (auto& n : *list) keys.insert(n.key);
  EXPECT_EQ(keys,
            (std::set<std::string>{"top", "m", "m/f", "m/dir/g", "m/inner", "m/inner/deep/file"}));
  MountIterateOptions no;
  no.no_mounts = true;
  auto shallow = view.List("", no);
  ASSERT_TRUE(shallow.ok());
  EXPECT_EQ(shallow->size(), 2u);
}

TEST_F(TrieMountTest, VersionedMounts) {
  Trie& root = Make(1);
  Trie& sub = Make(2);
  ASSERT_TRUE(sub.Put("x/a", ToBytes("old")).ok());
  uint64_t v = sub.version();
  ASSERT_TRUE(sub.Put("x/a", ToBytes("new")).ok());
  MountOptions o;
  o.version = v;
  ASSERT_TRUE(WriteMount(root, "snap", Bytes(32, 2), o).ok());
  ASSERT_TRUE(WriteMount(root, "live", Bytes(32, 2)).ok());
  MountView view(root, Resolver());
  auto a = view.Get("snap/x/a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Value(*a), "old");
  EXPECT_EQ(a->key, "snap/x/a");
  EXPECT_EQ(a->mount->version, v);
  auto b = view.Get("live/x/a");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Value(*b), "new");
}

TEST_F(TrieMountTest, RemotePathFollowsTheReference) {
  // mountable-hypertrie 2.8 appends the remote path after the inner path ("a" under remote
  // path "x" is looked up as "/a/x"); we keep its behaviour.
  Trie& root = Make(1);
  Trie& sub = Make(2);
  ASSERT_TRUE(sub.Put("a/x", ToBytes("quirk")).ok());
  MountOptions o;
  o.remote_path = "x";
  ASSERT_TRUE(WriteMount(root, "r", Bytes(32, 2), o).ok());
  MountView view(root, Resolver());
  auto resolved = view.Resolve("r/a");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->first, &sub);
  EXPECT_EQ(resolved->second.remote_path, "x");
}

TEST_F(TrieMountTest, CyclesResolveFinitePathsAndWalksStopAtThem) {
  Trie& a = Make(1);
  Trie& b = Make(2);
  ASSERT_TRUE(WriteMount(a, "to-b", Bytes(32, 2)).ok());
  ASSERT_TRUE(WriteMount(b, "to-a", Bytes(32, 1)).ok());
  ASSERT_TRUE(WriteMount(a, "self", Bytes(32, 1)).ok());
  ASSERT_TRUE(a.Put("x", ToBytes("in a")).ok());
  ASSERT_TRUE(b.Put("x", ToBytes("in b")).ok());
  MountView view(a, Resolver());
  // A path is finite: going round a cycle and out again reads what is there.
  auto r = view.Get("to-b/to-a/to-b/x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Value(*r), "in b");
  auto s = view.Get("self/x");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Value(*s), "in a");
  auto three = view.Get("self/self/self/x");
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(Value(*three), "in a");
  // Deeper than the view's limit is a Loop.
  std::string deep;
  for (int i = 0; i < 40; i++) deep += "self/";
  auto too_deep = view.Get(deep + "x");
  EXPECT_EQ(too_deep.status().code(), Code::kLoop)
      << too_deep.status().ToString() << " " << (too_deep.ok() ? Value(*too_deep) : "");
  // A walk lists the mount that closes a cycle and does not descend into it.
  std::vector<std::string> cycles;
  MountIterateOptions walk;
  walk.on_cycle = [&](std::string_view key) { cycles.emplace_back(key); };
  std::set<std::string> keys;
  ASSERT_TRUE(view.ForEach("", walk, [&](const NodePtr&, std::string_view key, const Trie*,
                                         const MountInfoPtr&) {
                    keys.emplace(key);
                    return Status::Ok();
                  }).ok());
  EXPECT_EQ(keys, (std::set<std::string>{"to-b", "to-b/x", "to-b/to-a", "self", "x"}));
  std::sort(cycles.begin(), cycles.end());
  EXPECT_EQ(cycles, (std::vector<std::string>{"self", "to-b/to-a"}));
  auto list = view.List("");
  EXPECT_TRUE(list.ok()) << list.status().ToString();
}

TEST_F(TrieMountTest, BrokenMountRecordIsCorruption) {
  Trie& a = Make(1);
  // A hidden mounts/ node flagged as a mount but holding garbage.
  PutOptions po;
  po.hidden = true;
  po.flags = kMountFlag;
  ASSERT_TRUE(a.Put("mounts/bad", ToBytes("\x0a\x7f"), po).ok());
  PutOptions vis;
  vis.flags = kMountFlag;
  ASSERT_TRUE(a.Put("bad", Bytes(), vis).ok());
  MountView view(a, Resolver());
  auto r = view.Get("bad/file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

TEST_F(TrieMountTest, UnmountRemovesBothNodes) {
  Trie& a = Make(1);
  Make(2);
  ASSERT_TRUE(WriteMount(a, "m", Bytes(32, 2)).ok());
  ASSERT_TRUE(WriteUnmount(a, "/m").ok());
  auto list = a.List("");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  IterateOptions h;
  h.hidden = true;
  auto hidden = a.List("", h);
  ASSERT_TRUE(hidden.ok());
  EXPECT_TRUE(hidden->empty());
  EXPECT_FALSE(WriteMount(a, "m", Bytes(31, 2)).ok());
}

}  // namespace
}  // namespace hyper::trie
