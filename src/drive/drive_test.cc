#include "hyper/drive/drive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "hyper/storage/file.h"
#include "tests/support/event_counter.h"
#include "tests/support/memory_drive.h"

namespace hyper::drive {
namespace {

Bytes GenBytesForTest(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(i * 13 + (i >> 10));
  return b;
}

class DriveTest : public hyper::testing::MemoryDriveTest {
 protected:
  std::string Read(std::string_view path) {
    auto r = drive_->ReadFile(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::string(AsString(*r)) : std::string();
  }
  std::set<std::string> Names(std::string_view path, bool recursive = false) {
    ReaddirOptions o;
    o.recursive = recursive;
    o.stats = false;
    auto r = drive_->Readdir(path, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::set<std::string> out;
    if (r.ok()) {
      for (auto& e : *r) out.insert(e.name);
    }
    return out;
  }
};

TEST_F(DriveTest, CreatesHeaderAndContentFeed) {
  EXPECT_TRUE(drive_->writable());
  EXPECT_EQ(drive_->version(), 1u);
  auto meta = drive_->trie().GetMetadata();
  ASSERT_TRUE(meta.ok());
  ASSERT_TRUE(meta->has_value());
  EXPECT_EQ(**meta, ToBytes(ByteView(*drive_->content_key())));
  auto expected = store_->DeriveKeyPair(AsBytes(ToHex(drive_->key()) + "-content"));
  EXPECT_EQ(*drive_->content_key(), expected.public_key);
  auto header = drive_->trie().ReadHeader();
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->subtype, "hyperdrive");

  // Reopening by key finds the same content feed and stays writable.
  auto key = drive_->key();
  drive_.reset();
  DriveOptions o;
  o.key = key;
  auto again = Drive::Open(*store_, o);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->writable());
  EXPECT_EQ((*again)->content_key(), expected.public_key);
}

TEST_F(DriveTest, WriteReadStat) {
  WriteOptions o;
  o.mode = 0600;
  o.uid = 7;
  o.gid = 8;
  o.mtime = 1000;
  o.ctime = 2000;
  SetMetadataEntry(o.metadata, "k", ToBytes("v"));
  auto st = drive_->WriteFile("/a/b.txt", AsBytes("hello"), o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(Read("a/b.txt"), "hello");
  auto s = drive_->GetStat("/a/b.txt");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mode, 0100600u);
  EXPECT_EQ(s->uid, 7u);
  EXPECT_EQ(s->gid, 8u);
  EXPECT_EQ(s->size, 5u);
  EXPECT_EQ(s->blocks, 1u);
  EXPECT_EQ(s->mtime, 1000u);
  EXPECT_EQ(s->ctime, 2000u);
  EXPECT_EQ(FindMetadataEntry(s->metadata, "k")->value(), ToBytes("v"));
  auto d = drive_->GetStat("/a");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->IsDirectory());
  EXPECT_EQ(drive_->GetStat("/nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(drive_->Exists("/a/../a/b.txt"));

  // Empty files take one empty block, like the reference.
  auto e = drive_->WriteFile("/empty", ByteView());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->blocks, 1u);
  EXPECT_EQ(e->size, 0u);
  EXPECT_EQ(Read("/empty"), "");

  // Overwrite.
  ASSERT_TRUE(drive_->WriteFile("/a/b.txt", AsBytes("bye")).ok());
  EXPECT_EQ(Read("/a/b.txt"), "bye");
  EXPECT_EQ(drive_->WriteFile("/a", AsBytes("x")).status().code(), Code::kIsADirectory);
  EXPECT_EQ(drive_->WriteFile("/a/b.txt/c", AsBytes("x")).status().code(), Code::kNotADirectory);
}

TEST_F(DriveTest, BigFileRangesAndWriter) {
  Bytes big(3 * kContentBlockBytes + 1234);
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<uint8_t>(i * 31 + (i >> 9));
  ASSERT_TRUE(drive_->WriteFile("/small", AsBytes("xyz")).ok());
  auto st = drive_->WriteFile("/big", big);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->blocks, 4u);
  EXPECT_EQ(st->offset, 1u);
  EXPECT_EQ(st->byte_offset, 3u);
  for (uint64_t start : {0ull, 1ull, 524287ull, 524288ull, 1000000ull, 1573000ull}) {
    auto r = drive_->ReadRange("/big", start, 70000);
    ASSERT_TRUE(r.ok());
    uint64_t n = std::min<uint64_t>(70000, big.size() - start);
    ASSERT_EQ(r->size(), n);
    EXPECT_TRUE(std::equal(r->begin(), r->end(), big.begin() + static_cast<ptrdiff_t>(start)));
  }
  EXPECT_TRUE(drive_->ReadRange("/big", big.size(), 10)->empty());

  auto w = drive_->CreateWriter("/streamed");
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 5; i++) ASSERT_TRUE((*w)->Write(ByteView(big).first(100000)).ok());
  auto closed = (*w)->Close();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->size, 500000u);
  EXPECT_EQ(closed->blocks, 5u);
  auto r = drive_->ReadRange("/streamed", 99990, 20);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::equal(r->begin(), r->begin() + 10, big.begin() + 99990));
  EXPECT_TRUE(std::equal(r->begin() + 10, r->end(), big.begin()));
}

TEST_F(DriveTest, DirectoriesAndErrors) {
  ASSERT_TRUE(drive_->Mkdir("/d").ok());
  EXPECT_EQ(drive_->Mkdir("/d").code(), Code::kExists);
  ASSERT_TRUE(drive_->WriteFile("/d/f", AsBytes("1")).ok());
  ASSERT_TRUE(drive_->WriteFile("/d/sub/g", AsBytes("2")).ok());
  ASSERT_TRUE(drive_->WriteFile("/top", AsBytes("3")).ok());
  EXPECT_EQ(Names("/"), (std::set<std::string>{"d", "top"}));
  EXPECT_EQ(Names("/d"), (std::set<std::string>{"f", "sub"}));
  EXPECT_EQ(Names("/", true), (std::set<std::string>{"d", "d/f", "d/sub/g", "top"}));
  EXPECT_EQ(drive_->Readdir("/top").status().code(), Code::kNotADirectory);
  EXPECT_EQ(drive_->Readdir("/none").status().code(), Code::kNotFound);
  EXPECT_EQ(drive_->Rmdir("/d").code(), Code::kNotEmpty);
  EXPECT_EQ(drive_->Rmdir("/top").code(), Code::kNotADirectory);
  EXPECT_EQ(drive_->Unlink("/d").code(), Code::kIsADirectory);
  EXPECT_EQ(drive_->Unlink("/nope").code(), Code::kNotFound);
  EXPECT_EQ(drive_->ReadFile("/d").status().code(), Code::kIsADirectory);
  EXPECT_EQ(drive_->WriteFile("/d", AsBytes("x")).status().code(), Code::kIsADirectory);
  ASSERT_TRUE(drive_->Unlink("/d/f").ok());
  ASSERT_TRUE(drive_->Unlink("/d/sub/g").ok());
  ASSERT_TRUE(drive_->Rmdir("/d").ok());
  EXPECT_EQ(Names("/"), (std::set<std::string>{"top"}));
}

TEST_F(DriveTest, SymlinksCopyTruncateMetadata) {
  ASSERT_TRUE(drive_->WriteFile("/dir/file", AsBytes("content")).ok());
  ASSERT_TRUE(drive_->Symlink("file", "/dir/rel").ok());
  ASSERT_TRUE(drive_->Symlink("/dir", "/abs").ok());
  EXPECT_EQ(drive_->Symlink("x", "/abs").code(), Code::kExists);
  EXPECT_EQ(Read("/dir/rel"), "content");
  // Links inside a path resolve as in POSIX (the reference says NotFound).
  EXPECT_EQ(Read("/abs/file"), "content");
  EXPECT_TRUE(drive_->Lstat("/dir/rel")->IsSymlink());
  EXPECT_TRUE(drive_->GetStat("/dir/rel")->IsFile());
  EXPECT_EQ(*drive_->Readlink("/dir/rel"), "file");
  EXPECT_EQ(Names("/abs"), (std::set<std::string>{"file", "rel"}));
  ASSERT_TRUE(drive_->Symlink("/loop2", "/loop1").ok());
  ASSERT_TRUE(drive_->Symlink("/loop1", "/loop2").ok());
  EXPECT_EQ(drive_->GetStat("/loop1").status().code(), Code::kLoop);
  EXPECT_TRUE(drive_->Lstat("/loop1").ok());

  ASSERT_TRUE(drive_->Copy("/dir/file", "/copy").ok());
  EXPECT_EQ(Read("/copy"), "content");
  EXPECT_EQ(drive_->Copy("/dir/file", "/copy").code(), Code::kExists);

  ASSERT_TRUE(drive_->Truncate("/copy", 3).ok());
  EXPECT_EQ(Read("/copy"), "con");
  ASSERT_TRUE(drive_->Truncate("/copy", 5).ok());
  EXPECT_EQ(Read("/copy"), std::string("con\0\0", 5));
  ASSERT_TRUE(drive_->Truncate("/copy", 0).ok());
  EXPECT_EQ(Read("/copy"), "");

  ASSERT_TRUE(drive_->SetMetadata("/dir/file", "a", ToBytes("1")).ok());
  ASSERT_TRUE(drive_->SetMetadata("/dir/file", "b", ToBytes("2")).ok());
  ASSERT_TRUE(drive_->RemoveMetadata("/dir/file", "a").ok());
  auto st = drive_->GetStat("/dir/file");
  ASSERT_EQ(st->metadata.size(), 2u);
  EXPECT_FALSE(FindMetadataEntry(st->metadata, "a")->has_value());
  EXPECT_EQ(FindMetadataEntry(st->metadata, "b")->value(), ToBytes("2"));
  EXPECT_EQ(drive_->SetMetadata("/none", "a", {}).code(), Code::kNotFound);
}

TEST_F(DriveTest, UpdateAttributesKeepsTheContentBlocks) {
  WriteOptions o;
  o.mode = 0644;
  o.mtime = 1000;
  ASSERT_TRUE(drive_->WriteFile("/a", AsBytes("content of a"), o).ok());
  ASSERT_TRUE(drive_->WriteFile("/d/b", AsBytes("b"), o).ok());
  ASSERT_TRUE(drive_->Symlink("a", "/link").ok());
  Stat before = *drive_->Lstat("/a");
  uint64_t content_length = drive_->content_feed()->length();
  uint64_t version = drive_->version();

  std::vector<Drive::AttributesUpdate> updates(2);
  updates[0].path = "/a";
  updates[0].options.mode = 0600;
  updates[0].options.mtime = 2000;
  updates[1].path = "/d/b";
  updates[1].options.uid = 7;
  ASSERT_TRUE(drive_->UpdateAttributes(updates).ok());
  EXPECT_EQ(drive_->version(), version + 2) << "one batch: one trie version per update";
  EXPECT_EQ(drive_->content_feed()->length(), content_length) << "no content appended";
  Stat after = *drive_->Lstat("/a");
  EXPECT_EQ(after.mode, kModeFile | 0600);
  EXPECT_EQ(after.mtime, 2000u);
  EXPECT_EQ(after.ctime, before.ctime);
  EXPECT_EQ(after.offset, before.offset);
  EXPECT_EQ(after.blocks, before.blocks);
  EXPECT_EQ(Read("/a"), "content of a");
  EXPECT_EQ(drive_->Lstat("/d/b")->uid, 7u);
  EXPECT_EQ(drive_->Lstat("/d/b")->mtime, 1000u);

  // Nothing is written when one path is refused.
  version = drive_->version();
  for (const char* bad : {"/none", "/link", "/d"}) {
    std::vector<Drive::AttributesUpdate> mixed(2);
    mixed[0].path = "/a";
    mixed[0].options.mtime = 3000;
    mixed[1].path = bad;
    EXPECT_FALSE(drive_->UpdateAttributes(mixed).ok()) << bad;
  }
  EXPECT_EQ(drive_->version(), version);
  EXPECT_EQ(drive_->Lstat("/a")->mtime, 2000u);

  // An explicit directory takes new attributes too (chmod and touch through FUSE).
  ASSERT_TRUE(drive_->Mkdir("/e").ok());
  std::vector<Drive::AttributesUpdate> dir(1);
  dir[0].path = "/e";
  dir[0].options.mode = 0700;
  dir[0].options.mtime = 4000;
  ASSERT_TRUE(drive_->UpdateAttributes(dir).ok());
  EXPECT_EQ(drive_->Lstat("/e")->mode, kModeDirectory | 0700);
  EXPECT_EQ(drive_->Lstat("/e")->mtime, 4000u);
}

TEST_F(DriveTest, ContentNotDownloadedHereSaysSo) {
  ASSERT_TRUE(drive_->WriteFile("/f", GenBytesForTest(200000)).ok());
  // A replica in another store with the metadata (copied with proofs) and no content.
  storage::MemoryDirectory other_dir;
  auto other = std::move(corestore::Corestore::Open(other_dir.factory())).value();
  DriveOptions options;
  options.key = drive_->key();
  auto replica = std::move(Drive::Open(*other, options)).value();
  const auto& from = drive_->metadata_feed();
  for (uint64_t i = 0; i < from->length(); i++) {
    auto block = from->Get(BlockIndex(i));
    auto proof = from->MakeProof(BlockIndex(i));
    ASSERT_TRUE(block.ok() && proof.ok());
    ASSERT_TRUE(replica->metadata_feed()->Put(BlockIndex(i), *block, *proof).ok());
  }
  ASSERT_TRUE(replica->Lstat("/f").ok());
  for (uint64_t start : {uint64_t{0}, uint64_t{100000}}) {
    auto read = replica->ReadRange("/f", start, 10);
    EXPECT_EQ(read.status().code(), Code::kNotFound);
    EXPECT_EQ(read.status().message(), "/f is not downloaded here; use --peer or the network");
  }
  // Our own drive keeps its reads.
  EXPECT_EQ(Read("/f").size(), 200000u);
}

TEST_F(DriveTest, CheckoutDiffTagsWatch) {
  testing::EventCounter changes;
  auto watcher = drive_->Watch("/w", [&] { changes.Add(); });
  ASSERT_TRUE(drive_->WriteFile("/w/a", AsBytes("1")).ok());
  ASSERT_TRUE(changes.WaitAtLeast(1));
  uint64_t v1 = drive_->version();
  ASSERT_TRUE(drive_->CreateTag("first").ok());
  ASSERT_TRUE(drive_->WriteFile("/w/a", AsBytes("2")).ok());
  ASSERT_TRUE(drive_->WriteFile("/w/b", AsBytes("3")).ok());
  ASSERT_TRUE(changes.WaitAtLeast(2));
  auto tag = drive_->GetTaggedVersion("first");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(*tag, v1);
  ASSERT_TRUE(drive_->CreateTag("second", 2).ok());
  auto all = drive_->GetAllTags();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("second"), 2u);
  ASSERT_TRUE(drive_->DeleteTag("second").ok());
  EXPECT_EQ(drive_->GetTaggedVersion("second").status().code(), Code::kNotFound);
  // Tags are hidden: not in listings.
  EXPECT_EQ(Names("/"), (std::set<std::string>{"w"}));

  auto old = drive_->Checkout(v1);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(AsString(*(*old)->ReadFile("/w/a")), "1");
  EXPECT_FALSE((*old)->Exists("/w/b"));
  EXPECT_EQ((*old)->WriteFile("/x", AsBytes("y")).status().code(), Code::kNotWritable);

  auto diff = drive_->Diff(v1, "/w");
  ASSERT_TRUE(diff.ok());
  std::set<std::string> names;
  for (auto& e : *diff) {
    EXPECT_EQ(e.type, DiffEntry::Type::kPut);
    names.insert(e.name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"w/a", "w/b"}));
  ASSERT_TRUE(drive_->Unlink("/w/b").ok());
  auto diff2 = drive_->Diff(v1);
  ASSERT_TRUE(diff2.ok());
  ASSERT_EQ(diff2->size(), 1u);
  EXPECT_EQ((*diff2)[0].name, "w/a");
}

TEST_F(DriveTest, NamesStartingWithTwoDotsAreOrdinaryNames) {
  for (const char* p : {"/..hidden", "/...three", "/..dir/f", "/d/..x", "/d/..y/z"}) {
    ASSERT_TRUE(drive_->WriteFile(p, AsBytes(p)).ok()) << p;
  }
  EXPECT_EQ(Names("/"), (std::set<std::string>{"..hidden", "...three", "..dir", "d"}));
  EXPECT_EQ(Names("/d"), (std::set<std::string>{"..x", "..y"}));
  EXPECT_EQ(Names("/", true),
            (std::set<std::string>{"..hidden", "...three", "..dir/f", "d/..x", "d/..y/z"}));
  EXPECT_EQ(Names("/d", true), (std::set<std::string>{"..x", "..y/z"}));
  EXPECT_EQ(Read("/..dir/f"), "/..dir/f");
}

TEST_F(DriveTest, RecursiveListingListsSymlinksWithoutFollowingThem) {
  ASSERT_TRUE(drive_->WriteFile("/real/f", AsBytes("f")).ok());
  ASSERT_TRUE(drive_->Symlink("real", "/alias").ok());
  ASSERT_TRUE(drive_->Symlink(".", "/real/dot").ok());
  ASSERT_TRUE(drive_->Symlink("/l2", "/l1").ok());
  ASSERT_TRUE(drive_->Symlink("/l1", "/l2").ok());
  ASSERT_TRUE(drive_->Symlink("/nowhere", "/dangling").ok());
  ReaddirOptions walk;
  walk.recursive = true;
  auto all = drive_->Readdir("/", walk);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::map<std::string, std::string> got;
  for (const auto& e : *all)
    got[e.name] = e.stat.linkname.empty() ? e.path : "-> " + e.stat.linkname;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"real/f", "/real/f"},
                                                     {"real/dot", "-> ."},
                                                     {"alias", "-> real"},
                                                     {"l1", "-> /l2"},
                                                     {"l2", "-> /l1"},
                                                     {"dangling", "-> /nowhere"}}));
  // Listing a link to a directory lists the directory (the link itself is followed).
  EXPECT_EQ(Names("/alias", true), (std::set<std::string>{"f", "dot"}));
}

TEST_F(DriveTest, WritesThroughADirectorySymlinkLandWhereItPoints) {
  ASSERT_TRUE(drive_->WriteFile("/real/f", AsBytes("f")).ok());
  ASSERT_TRUE(drive_->Symlink("real", "/alias").ok());
  ASSERT_TRUE(drive_->Symlink("/alias/deeper", "/chain").ok());
  ASSERT_TRUE(drive_->WriteFile("/alias/x.txt", AsBytes("x")).ok());
  ASSERT_TRUE(drive_->Mkdir("/alias/deeper").ok());
  ASSERT_TRUE(drive_->WriteFile("/chain/y.txt", AsBytes("y")).ok());
  EXPECT_EQ(Names("/", true), (std::set<std::string>{"real/f", "real/x.txt", "real/deeper",
                                                     "real/deeper/y.txt", "alias", "chain"}));
  EXPECT_EQ(Names("/alias"), (std::set<std::string>{"f", "x.txt", "deeper"}));
  EXPECT_EQ(Read("/alias/x.txt"), "x");
  EXPECT_EQ(Read("/chain/y.txt"), "y");
  EXPECT_TRUE(drive_->Lstat("/alias/x.txt")->IsFile());
  EXPECT_TRUE(drive_->Lstat("/alias")->IsSymlink());
  ASSERT_TRUE(drive_->Unlink("/alias/x.txt").ok());
  EXPECT_FALSE(drive_->Exists("/real/x.txt"));
  // A loop of directory links is an error, not a hang.
  ASSERT_TRUE(drive_->Symlink("/loop2", "/loop1").ok());
  ASSERT_TRUE(drive_->Symlink("/loop1", "/loop2").ok());
  EXPECT_EQ(drive_->WriteFile("/loop1/z", AsBytes("z")).status().code(), Code::kLoop);
  EXPECT_EQ(drive_->GetStat("/loop1/z").status().code(), Code::kLoop);
}

TEST_F(DriveTest, MountVersionMustExist) {
  DriveOptions bo;
  bo.namespace_name = "b";
  auto other = std::move(Drive::Open(*store_, bo)).value();
  ASSERT_TRUE(other->WriteFile("/f", AsBytes("f")).ok());  // version 2
  const uint64_t before = drive_->version();
  MountOptions mo;
  mo.version = 0;
  EXPECT_EQ(drive_->Mount("/m", other->key(), mo).code(), Code::kInvalidArgument);
  mo.version = other->version() + 1;
  EXPECT_EQ(drive_->Mount("/m", other->key(), mo).code(), Code::kOutOfRange);
  EXPECT_EQ(drive_->version(), before) << "nothing written";
  mo.version = other->version();
  ASSERT_TRUE(drive_->Mount("/m", other->key(), mo).ok());
  EXPECT_EQ(Read("/m/f"), "f");
}

}  // namespace
}  // namespace hyper::drive

namespace hyper::drive {
namespace {

TEST_F(DriveTest, Mounts) {
  DriveOptions bo;
  bo.namespace_name = "b";
  auto other = std::move(Drive::Open(*store_, bo)).value();
  ASSERT_NE(other->key(), drive_->key());
  ASSERT_TRUE(other->WriteFile("/inner/file.txt", AsBytes("inside b")).ok());
  ASSERT_TRUE(drive_->WriteFile("/outer.txt", AsBytes("in a")).ok());
  MountOptions mo;
  mo.uid = 3;
  ASSERT_TRUE(drive_->Mount("/m", other->key(), mo).ok());
  EXPECT_EQ(drive_->Mount("/m", other->key()).code(), Code::kExists);
  EXPECT_EQ(drive_->Mount("/self", drive_->key()).code(), Code::kLoop);

  auto st = drive_->Lstat("/m");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->IsDirectory());
  ASSERT_TRUE(st->mount.has_value());
  EXPECT_EQ(st->mount->key, ToBytes(ByteView(other->key())));
  EXPECT_EQ(st->uid, 3u);
  EXPECT_EQ(Read("/m/inner/file.txt"), "inside b");
  EXPECT_EQ(drive_->ReadRange("/m/inner/file.txt", 2, 3).value(), ToBytes("sid"));
  EXPECT_EQ(Names("/"), (std::set<std::string>{"m", "outer.txt"}));
  EXPECT_EQ(Names("/m"), (std::set<std::string>{"inner"}));
  EXPECT_EQ(drive_->Copy("/outer.txt", "/m/copy").code(), Code::kUnsupported);
  EXPECT_EQ(Names("/", true), (std::set<std::string>{"m", "m/inner/file.txt", "outer.txt"}));
  EXPECT_TRUE(drive_->GetStat("/m/inner")->IsDirectory());
  // The store can write the mounted drive: writes land in it, with its content feed.
  ASSERT_TRUE(drive_->WriteFile("/m/new", AsBytes("through")).ok());
  EXPECT_EQ(AsString(*other->ReadFile("/new")), "through");
  EXPECT_EQ(Read("/m/new"), "through");
  ASSERT_TRUE(drive_->Mkdir("/m/made").ok());
  EXPECT_TRUE(other->GetStat("/made")->IsDirectory());
  ASSERT_TRUE(drive_->Unlink("/m/new").ok());
  EXPECT_FALSE(other->Exists("/new"));
  EXPECT_FALSE(drive_->Exists("/m/new"));
  EXPECT_EQ(drive_->Rmdir("/m").code(), Code::kInvalidArgument);

  // Changes to the mounted drive show through.
  ASSERT_TRUE(other->WriteFile("/later", AsBytes("later")).ok());
  EXPECT_EQ(Read("/m/later"), "later");

  auto mounts = drive_->GetAllMounts();
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_EQ((*mounts)[0].path, "/");
  EXPECT_EQ((*mounts)[1].path, "/m");
  EXPECT_EQ((*mounts)[1].metadata_key, other->key());
  EXPECT_EQ((*mounts)[1].content_key, other->content_key());

  // Watching through the mount sees changes made in the mounted drive.
  testing::EventCounter changes;
  auto watcher = drive_->Watch("/", [&] { changes.Add(); });
  ASSERT_TRUE(watcher.ok());
  int before = changes.value();
  ASSERT_TRUE(other->WriteFile("/watched", AsBytes("w")).ok());
  EXPECT_TRUE(changes.WaitAtLeast(before + 1));
  testing::EventCounter inner_changes;
  auto inner_watcher = drive_->Watch("/m/inner", [&] { inner_changes.Add(); });
  ASSERT_TRUE(inner_watcher.ok());
  before = inner_changes.value();
  ASSERT_TRUE(other->WriteFile("/inner/more", AsBytes("w")).ok());
  EXPECT_TRUE(inner_changes.WaitAtLeast(before + 1));
  watcher->reset();
  inner_watcher->reset();

  // A cycle back into the first drive: a path through it is finite and resolves; a walk shows
  // the mount that closes the cycle and does not descend into it (the callback says where).
  ASSERT_TRUE(other->Mount("/back", drive_->key()).ok());
  EXPECT_TRUE(drive_->GetStat("/m/back/m/inner")->IsDirectory());
  EXPECT_EQ(Read("/m/back/outer.txt"), "in a");
  EXPECT_EQ(Names("/m/back"), (std::set<std::string>{"m", "outer.txt"}));
  std::vector<std::string> cycles;
  ReaddirOptions walk;
  walk.recursive = true;
  walk.on_mount_cycle = [&](const std::string& path) { cycles.push_back(path); };
  auto all = drive_->Readdir("/", walk);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(cycles, std::vector<std::string>{"/m/back"});
  std::set<std::string> walked;
  for (const auto& e : *all) walked.insert(e.name);
  EXPECT_TRUE(walked.count("m/back")) << "the mount point is listed";
  EXPECT_FALSE(walked.count("m/back/outer.txt")) << "and not descended into";
  cycles.clear();
  auto inside = drive_->Readdir("/m/back/m", walk);
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  EXPECT_EQ(cycles, std::vector<std::string>{"/m/back/m/back"});

  // A pinned version.
  MountOptions pinned;
  pinned.version = 2;
  ASSERT_TRUE(drive_->Mount("/old", other->key(), pinned).ok());
  EXPECT_EQ(Read("/old/inner/file.txt"), "inside b");
  EXPECT_FALSE(drive_->Exists("/old/later"));
  EXPECT_EQ(drive_->WriteFile("/old/x", AsBytes("x")).status().code(), Code::kNotWritable);

  uint64_t before_unmount = drive_->version();
  EXPECT_EQ(drive_->Unmount("/outer.txt").code(), Code::kInvalidArgument);
  ASSERT_TRUE(drive_->Unmount("/m").ok());
  EXPECT_FALSE(drive_->Exists("/m/inner/file.txt"));
  EXPECT_FALSE(drive_->Exists("/m"));
  // (A delete may rewrite a neighbour node, which the diff shows as a put.)
  auto type_of = [](const std::vector<DiffEntry>& diff, const std::string& name) {
    for (const auto& e : diff) {
      if (e.name == name) return static_cast<int>(e.type);
    }
    return -1;
  };
  auto diff = drive_->Diff(before_unmount);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(type_of(*diff, "m"), static_cast<int>(DiffEntry::Type::kUnmount));
  auto back = drive_->Checkout(before_unmount);
  ASSERT_TRUE(back.ok());
  auto forward = (*back)->Diff(drive_->version());
  ASSERT_TRUE(forward.ok());
  EXPECT_EQ(type_of(*forward, "m"), static_cast<int>(DiffEntry::Type::kMount));
}

}  // namespace
}  // namespace hyper::drive

namespace hyper::drive {
namespace {

TEST_F(DriveTest, FileHandles) {
  EXPECT_EQ(drive_->OpenFile("/f", kOpenRead).status().code(), Code::kNotFound);
  auto h = drive_->OpenFile("/f", kOpenWrite | kOpenCreate);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(drive_->Exists("/f"));  // created at open
  Bytes data = GenBytesForTest(200000);
  ASSERT_EQ(*(*h)->Write(0, ByteView(data).first(70000)), 70000u);
  EXPECT_EQ((*h)->Write(5, ByteView(data).first(1)).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE((*h)->Write(70000, ByteView(data).subspan(70000)).ok());
  EXPECT_EQ((*h)->size(), 200000u);
  ASSERT_TRUE((*h)->Close().ok());
  auto st = drive_->GetStat("/f");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 200000u);
  EXPECT_EQ(st->blocks, 4u);  // 64 KiB blocks
  EXPECT_EQ(*drive_->ReadFile("/f"), data);

  auto r = drive_->OpenFile("/f", kOpenRead);
  ASSERT_TRUE(r.ok());
  auto part = (*r)->Read(65530, 20);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(std::equal(part->begin(), part->end(), data.begin() + 65530));
  EXPECT_EQ((*r)->Write(0, data).status().code(), Code::kPermissionDenied);
  EXPECT_TRUE((*(*r)->Read(300000, 5)).empty());
  ASSERT_TRUE((*r)->Close().ok());

  auto a = drive_->OpenFile("/f", kOpenAppend);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Write(200000, AsBytes("tail")).ok());
  ASSERT_TRUE((*a)->Close().ok());
  auto all = drive_->ReadFile("/f");
  ASSERT_EQ(all->size(), 200004u);
  EXPECT_EQ(AsString(ByteView(*all).subspan(200000)), "tail");

  EXPECT_EQ(drive_->OpenFile("/f", kOpenWrite | kOpenCreate | kOpenExclusive).status().code(),
            Code::kExists);
  auto t = drive_->OpenFile("/f", kOpenWrite | kOpenTruncate);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(drive_->GetStat("/f")->size, 0u);
  ASSERT_TRUE((*t)->Close().ok());
  ASSERT_TRUE(drive_->Mkdir("/dir").ok());
  EXPECT_EQ(drive_->OpenFile("/dir", kOpenRead).status().code(), Code::kIsADirectory);
  auto co = drive_->Checkout(2);
  ASSERT_TRUE(co.ok());
  EXPECT_EQ((*co)->OpenFile("/f", kOpenWrite).status().code(), Code::kNotWritable);

  // A second content writer on the same thread is Busy, not a deadlock; metadata-only writes
  // go through.
  auto w = drive_->OpenFile("/g", kOpenWrite | kOpenCreate);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(0, AsBytes("x")).ok());
  EXPECT_EQ(drive_->WriteFile("/h", AsBytes("y")).status().code(), Code::kBusy);
  EXPECT_TRUE(drive_->Mkdir("/dir2").ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(drive_->WriteFile("/h", AsBytes("y")).ok());
}

}  // namespace
}  // namespace hyper::drive

namespace hyper::drive {
namespace {

TEST_F(DriveTest, ConcurrentWritersKeepFilesContiguous) {
  constexpr int kThreads = 4;
  constexpr int kFiles = 30;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kFiles; i++) {
        std::string path = "/t" + std::to_string(t) + "/f" + std::to_string(i);
        if (i % 3 == 0) {
          auto w = drive_->CreateWriter(path);
          ASSERT_TRUE(w.ok());
          for (int c = 0; c < 3; c++) {
            ASSERT_TRUE((*w)->Write(AsBytes(path + "#" + std::to_string(c))).ok());
          }
          ASSERT_TRUE((*w)->Close().ok());
        } else {
          ASSERT_TRUE(drive_->WriteFile(path, AsBytes(path)).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; t++) {
    for (int i = 0; i < kFiles; i++) {
      std::string path = "/t" + std::to_string(t) + "/f" + std::to_string(i);
      std::string expected = i % 3 == 0 ? path + "#0" + path + "#1" + path + "#2" : path;
      EXPECT_EQ(Read(path), expected);
    }
  }
}

}  // namespace
}  // namespace hyper::drive

namespace hyper::drive {
namespace {

TEST_F(DriveTest, WriteFilesInOneBatchMatchesOneByOne) {
  Bytes big(kContentBlockBytes + 1000, 'b');
  Bytes small = ToBytes("small file");
  WriteOptions o;
  o.mode = 0600;
  o.mtime = 1600000000000;
  std::vector<Drive::FileToWrite> batch = {
      {"/a/small.txt", small, o}, {"/a/empty", ByteView(), {}}, {"/big.bin", big, {}}};
  uint64_t version = drive_->version();
  uint64_t content_blocks = drive_->content_feed()->length();
  uint64_t metadata_blocks = drive_->metadata_feed()->length();
  auto stats = drive_->WriteFiles(batch);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->size(), 3u);
  EXPECT_EQ(drive_->version(), version + 3);
  EXPECT_EQ(drive_->metadata_feed()->length(), metadata_blocks + 3);
  // small: 1 block, empty: 1 empty block (as the reference), big: 2 blocks.
  EXPECT_EQ(drive_->content_feed()->length(), content_blocks + 4);
  EXPECT_EQ(Read("/a/small.txt"), "small file");
  EXPECT_EQ(Read("/a/empty"), "");
  EXPECT_EQ(Read("/big.bin"), std::string(AsString(big)));
  auto st = drive_->GetStat("/a/small.txt");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->mode, kModeFile | 0600);
  EXPECT_EQ(st->mtime, 1600000000000u);
  EXPECT_EQ(*st, (*stats)[0]);
  EXPECT_EQ((*stats)[1].offset, (*stats)[0].offset + 1);
  EXPECT_EQ((*stats)[2].offset, (*stats)[1].offset + 1);
  EXPECT_EQ((*stats)[2].blocks, 2u);
  EXPECT_EQ((*stats)[2].byte_offset, (*stats)[0].byte_offset + small.size());

  // The same files one by one give the same Stats (offsets aside).
  auto one = drive_->WriteFile("/b/small.txt", small, o);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size, (*stats)[0].size);
  EXPECT_EQ(one->blocks, (*stats)[0].blocks);
}

TEST_F(DriveTest, WriteFilesRefusesConflictsAndWritesNothing) {
  ASSERT_TRUE(drive_->WriteFile("/file", ToBytes("x")).ok());
  uint64_t version = drive_->version();
  uint64_t content = drive_->content_feed()->length();
  Bytes data = ToBytes("y");
  std::vector<Drive::FileToWrite> inside_batch = {{"/d", data, {}}, {"/d/e", data, {}}};
  EXPECT_EQ(drive_->WriteFiles(inside_batch).status().code(), Code::kInvalidArgument);
  std::vector<Drive::FileToWrite> under_file = {{"/ok", data, {}}, {"/file/x", data, {}}};
  EXPECT_FALSE(drive_->WriteFiles(under_file).ok());
  std::vector<Drive::FileToWrite> onto_dir = {{"/ok", data, {}}, {"/", data, {}}};
  EXPECT_FALSE(drive_->WriteFiles(onto_dir).ok());
  EXPECT_EQ(drive_->version(), version);
  EXPECT_EQ(drive_->content_feed()->length(), content);
  EXPECT_FALSE(drive_->Exists("/ok"));
  EXPECT_TRUE(drive_->WriteFiles({}).ok());
}

}  // namespace
}  // namespace hyper::drive
