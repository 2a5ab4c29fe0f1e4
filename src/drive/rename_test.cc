// Drive::Rename: every kind of entry, every error, and one version per rename.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "hyper/storage/file.h"
#include "tests/support/memory_drive.h"

namespace hyper::drive {
namespace {

class RenameTest : public hyper::testing::MemoryDriveTest {
 protected:
  std::string Read(const Drive& d, std::string_view path) {
    auto r = d.ReadFile(path);
    EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    return r.ok() ? std::string(AsString(*r)) : std::string();
  }
  // Every entry below `path` (recursive, mounts included): relative name -> the Stat's bytes.
  std::map<std::string, Bytes> Tree(const Drive& d, std::string_view path) {
    ReaddirOptions o;
    o.recursive = true;
    auto r = d.Readdir(path, o);
    EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
    std::map<std::string, Bytes> out;
    if (r.ok()) {
      for (auto& e : *r) out[e.name] = e.stat.Encode();
    }
    return out;
  }
  // Checks that a failed rename left the drive as it was.
  void ExpectRefused(std::string_view from, std::string_view to, Code code) {
    const uint64_t before = drive_->version();
    Status s = drive_->Rename(from, to);
    EXPECT_EQ(s.code(), code) << from << " -> " << to << ": " << s.ToString();
    EXPECT_EQ(drive_->version(), before) << from << " -> " << to << " wrote something";
  }
};

TEST_F(RenameTest, FileKeepsItsStatAndContentInOneBatch) {
  ASSERT_TRUE(drive_->WriteFile("/a.txt", AsBytes("hello")).ok());
  const Stat before = drive_->Lstat("/a.txt").value();
  const uint64_t content_length = drive_->content_feed()->length();
  const uint64_t version = drive_->version();
  ASSERT_TRUE(drive_->Rename("/a.txt", "/dir/b.txt").ok());
  // One put and one delete, appended together.
  EXPECT_EQ(drive_->version(), version + 2);
  EXPECT_FALSE(drive_->Exists("/a.txt"));
  EXPECT_EQ(drive_->Lstat("/dir/b.txt").value(), before);
  EXPECT_EQ(Read(*drive_, "/dir/b.txt"), "hello");
  EXPECT_EQ(drive_->content_feed()->length(), content_length);  // no block copied
  // The version before still has the old name only.
  auto old = drive_->Checkout(version).value();
  EXPECT_EQ(Read(*old, "/a.txt"), "hello");
  EXPECT_FALSE(old->Exists("/dir/b.txt"));
}

TEST_F(RenameTest, SymlinkIsMovedNotFollowed) {
  ASSERT_TRUE(drive_->WriteFile("/target", AsBytes("t")).ok());
  ASSERT_TRUE(drive_->Symlink("target", "/link").ok());
  ASSERT_TRUE(drive_->Rename("/link", "/moved").ok());
  EXPECT_EQ(drive_->Readlink("/moved").value(), "target");
  EXPECT_EQ(Read(*drive_, "/moved"), "t");
  EXPECT_EQ(Read(*drive_, "/target"), "t");
  EXPECT_FALSE(drive_->Lstat("/link").ok());
}

TEST_F(RenameTest, MountPointMovesWithItsRecord) {
  DriveOptions bo;
  bo.namespace_name = "b";
  auto other = std::move(Drive::Open(*store_, bo)).value();
  ASSERT_TRUE(other->WriteFile("/inner/file.txt", AsBytes("inside b")).ok());
  MountOptions mo;
  mo.uid = 7;
  ASSERT_TRUE(drive_->Mount("/m", other->key(), mo).ok());
  const Stat mount_stat = drive_->Lstat("/m").value();
  ASSERT_TRUE(drive_->Rename("/m", "/x/n").ok());
  EXPECT_FALSE(drive_->Exists("/m"));
  EXPECT_EQ(drive_->Lstat("/x/n").value(), mount_stat);
  EXPECT_EQ(Read(*drive_, "/x/n/inner/file.txt"), "inside b");
  auto mounts = drive_->GetAllMounts().value();
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[1].path, "/x/n");
  EXPECT_EQ(mounts[1].metadata_key, other->key());
  // The mount still writes through, and unmounts at its new place.
  ASSERT_TRUE(drive_->WriteFile("/x/n/new", AsBytes("through")).ok());
  EXPECT_EQ(Read(*other, "/new"), "through");
  ASSERT_TRUE(drive_->Unmount("/x/n").ok());
  EXPECT_FALSE(drive_->Exists("/x/n"));
  EXPECT_EQ(drive_->GetAllMounts().value().size(), 1u);
}

TEST_F(RenameTest, DirectoryMovesEverythingBelowIt) {
  DriveOptions bo;
  bo.namespace_name = "b";
  auto other = std::move(Drive::Open(*store_, bo)).value();
  ASSERT_TRUE(other->WriteFile("/f", AsBytes("mounted")).ok());
  ASSERT_TRUE(drive_->Mkdir("/d").ok());
  ASSERT_TRUE(drive_->WriteFile("/d/one", AsBytes("1")).ok());
  ASSERT_TRUE(drive_->WriteFile("/d/sub/two", AsBytes("22")).ok());
  ASSERT_TRUE(drive_->Mkdir("/d/empty").ok());
  ASSERT_TRUE(drive_->Symlink("../one", "/d/sub/link").ok());
  ASSERT_TRUE(drive_->Mount("/d/sub/m", other->key()).ok());
  ASSERT_TRUE(drive_->WriteFile("/d2", AsBytes("a sibling with a longer name")).ok());
  ASSERT_TRUE(drive_->WriteFile("/dx/keep", AsBytes("not below /d")).ok());
  const auto tree = Tree(*drive_, "/d");
  // one, sub/two, empty, sub/link, sub/m, sub/m/f (sub is implicit: a walk lists nodes only)
  ASSERT_EQ(tree.size(), 6u);
  const Stat dir_stat = drive_->Lstat("/d").value();
  const uint64_t content_length = drive_->content_feed()->length();

  ASSERT_TRUE(drive_->Rename("/d", "/new/place").ok());
  EXPECT_FALSE(drive_->Exists("/d"));
  EXPECT_EQ(Tree(*drive_, "/new/place"), tree);
  EXPECT_EQ(drive_->Lstat("/new/place").value(), dir_stat);
  EXPECT_EQ(Read(*drive_, "/new/place/sub/two"), "22");
  EXPECT_EQ(Read(*drive_, "/new/place/sub/link"), "1");
  EXPECT_EQ(Read(*drive_, "/new/place/sub/m/f"), "mounted");
  EXPECT_EQ(Read(*drive_, "/d2"), "a sibling with a longer name");
  EXPECT_EQ(Read(*drive_, "/dx/keep"), "not below /d");
  EXPECT_EQ(drive_->GetAllMounts().value().at(1).path, "/new/place/sub/m");
  EXPECT_EQ(drive_->content_feed()->length(), content_length);
}

TEST_F(RenameTest, ImplicitDirectoryMoves) {
  ASSERT_TRUE(drive_->WriteFile("/i/a", AsBytes("a")).ok());
  ASSERT_TRUE(drive_->WriteFile("/i/b/c", AsBytes("c")).ok());
  ASSERT_TRUE(drive_->Rename("/i", "/j").ok());
  EXPECT_FALSE(drive_->Exists("/i"));
  EXPECT_EQ(Read(*drive_, "/j/a"), "a");
  EXPECT_EQ(Read(*drive_, "/j/b/c"), "c");
}

TEST_F(RenameTest, ExistingTargetFollowsPosix) {
  // A file replaces a file, and a symlink.
  ASSERT_TRUE(drive_->WriteFile("/src", AsBytes("new")).ok());
  ASSERT_TRUE(drive_->WriteFile("/dst", AsBytes("old")).ok());
  ASSERT_TRUE(drive_->Rename("/src", "/dst").ok());
  EXPECT_EQ(Read(*drive_, "/dst"), "new");
  EXPECT_FALSE(drive_->Exists("/src"));
  ASSERT_TRUE(drive_->Symlink("dst", "/l").ok());
  ASSERT_TRUE(drive_->WriteFile("/src", AsBytes("over the link")).ok());
  ASSERT_TRUE(drive_->Rename("/src", "/l").ok());
  EXPECT_FALSE(drive_->Readlink("/l").ok());
  EXPECT_EQ(Read(*drive_, "/l"), "over the link");
  EXPECT_EQ(Read(*drive_, "/dst"), "new");
  // A directory replaces an empty directory (explicit source, then implicit source).
  ASSERT_TRUE(drive_->WriteFile("/da/f", AsBytes("f")).ok());
  ASSERT_TRUE(drive_->Mkdir("/empty").ok());
  ASSERT_TRUE(drive_->Rename("/da", "/empty").ok());
  EXPECT_EQ(Read(*drive_, "/empty/f"), "f");
  EXPECT_FALSE(drive_->Exists("/da"));
  ASSERT_TRUE(drive_->Mkdir("/explicit").ok());
  const Stat made = drive_->Lstat("/explicit").value();
  ASSERT_TRUE(drive_->Mkdir("/empty2").ok());
  ASSERT_TRUE(drive_->Rename("/explicit", "/empty2").ok());
  EXPECT_EQ(drive_->Lstat("/empty2").value(), made);
  ASSERT_TRUE(drive_->Mkdir("/empty3").ok());
  // /empty lost its own node to the implicit /da: an implicit directory onto an explicit one.
  ASSERT_TRUE(drive_->Rename("/empty", "/empty3").ok());
  EXPECT_EQ(Read(*drive_, "/empty3/f"), "f");
  ASSERT_TRUE(drive_->WriteFile("/imp/g", AsBytes("g")).ok());
  ASSERT_TRUE(drive_->Mkdir("/empty4").ok());
  ASSERT_TRUE(drive_->Rename("/imp", "/empty4").ok());
  EXPECT_EQ(Read(*drive_, "/empty4/g"), "g");
  EXPECT_FALSE(drive_->Exists("/imp"));
  // The empty directory's own node went with it: /empty4 is implicit now, as /imp was.
  EXPECT_EQ(drive_->Rmdir("/empty4").code(), Code::kNotEmpty);
  ASSERT_TRUE(drive_->Unlink("/empty4/g").ok());
  EXPECT_FALSE(drive_->Exists("/empty4"));
  // Renaming a path to itself does nothing.
  const uint64_t version = drive_->version();
  ASSERT_TRUE(drive_->Rename("/dst", "//dst/").ok());
  EXPECT_EQ(drive_->version(), version);
}

TEST_F(RenameTest, ErrorsWriteNothing) {
  ASSERT_TRUE(drive_->WriteFile("/file", AsBytes("f")).ok());
  ASSERT_TRUE(drive_->WriteFile("/dir/inside", AsBytes("i")).ok());
  ASSERT_TRUE(drive_->WriteFile("/full/x", AsBytes("x")).ok());
  ASSERT_TRUE(drive_->Mkdir("/empty").ok());
  DriveOptions bo;
  bo.namespace_name = "b";
  auto other = std::move(Drive::Open(*store_, bo)).value();
  ASSERT_TRUE(other->WriteFile("/theirs", AsBytes("t")).ok());
  ASSERT_TRUE(drive_->Mount("/m", other->key()).ok());

  ExpectRefused("/missing", "/x", Code::kNotFound);
  ExpectRefused("/", "/x", Code::kInvalidArgument);
  ExpectRefused("/file", "/", Code::kInvalidArgument);
  ExpectRefused("/dir", "/dir/sub", Code::kInvalidArgument);    // into itself
  ExpectRefused("/dir", "/dir/new/x", Code::kInvalidArgument);  // deeper into itself
  ExpectRefused("/file", "/dir", Code::kIsADirectory);
  ExpectRefused("/file", "/empty", Code::kIsADirectory);
  ExpectRefused("/dir", "/file", Code::kNotADirectory);
  ExpectRefused("/dir", "/full", Code::kNotEmpty);
  ExpectRefused("/dir/inside", "/dir", Code::kIsADirectory);    // onto its own parent
  ExpectRefused("/full", "/m", Code::kBusy);                    // onto a mount point
  ExpectRefused("/file", "/file/below", Code::kNotADirectory);  // a file as a parent
  ExpectRefused("/file", "/m/in-the-mount", Code::kUnsupported);
  ExpectRefused("/m/theirs", "/mine", Code::kUnsupported);
  ExpectRefused(std::string("/fi\0le", 6), "/x", Code::kInvalidArgument);
  ExpectRefused("/file", std::string("/x\0", 3), Code::kInvalidArgument);
  // ".." never climbs above the root: "/../file" is "/file", "/dir/../../y" is "/y".
  ASSERT_TRUE(drive_->Rename("/../file", "/dir/../../y").ok());
  EXPECT_EQ(Read(*drive_, "/y"), "f");
  // A checkout is read-only.
  auto old = drive_->Checkout(drive_->version()).value();
  EXPECT_EQ(old->Rename("/y", "/z").code(), Code::kNotWritable);
  // Everything is where it was.
  EXPECT_EQ(Read(*drive_, "/dir/inside"), "i");
  EXPECT_EQ(Read(*drive_, "/full/x"), "x");
  EXPECT_EQ(Read(*drive_, "/m/theirs"), "t");
}

TEST_F(RenameTest, RenameInsideAWritableMountStaysInIt) {
  DriveOptions bo;
  bo.namespace_name = "b";
  auto other = std::move(Drive::Open(*store_, bo)).value();
  ASSERT_TRUE(other->WriteFile("/a", AsBytes("in b")).ok());
  ASSERT_TRUE(drive_->Mount("/m", other->key()).ok());
  const uint64_t ours = drive_->version();
  ASSERT_TRUE(drive_->Rename("/m/a", "/m/sub/b").ok());
  EXPECT_EQ(drive_->version(), ours);
  EXPECT_EQ(Read(*other, "/sub/b"), "in b");
  EXPECT_FALSE(other->Exists("/a"));
}

// Every version the drive reports (after each write, and as a watcher sees it live) has either
// the old tree or the new one.
TEST_F(RenameTest, EveryVersionHasTheOldTreeOrTheNew) {
  for (int i = 0; i < 20; i++) {
    ASSERT_TRUE(drive_->WriteFile("/a/f" + std::to_string(i), AsBytes(std::to_string(i))).ok());
  }
  // The watch callbacks run on the runtime's callbacks thread: what they record is guarded.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> seen;
  std::vector<std::string> problems;
  auto check = [&](const Drive& d, uint64_t version) {
    const bool old_tree = d.Exists("/a/f0") && d.Exists("/a/f19");
    const bool new_tree = d.Exists("/b/f0") && d.Exists("/b/f19");
    const bool half =
        d.Exists("/a/f19") != d.Exists("/a/f0") || d.Exists("/b/f19") != d.Exists("/b/f0");
    if (old_tree == new_tree || half) {
      std::lock_guard lock(mu);
      problems.push_back("version " + std::to_string(version) + " has " +
                         (old_tree ? "both trees" : "neither tree"));
    }
  };
  const uint64_t before = drive_->version();
  auto watcher = drive_->Watch("/", [&] {
    const uint64_t v = drive_->version();
    auto at = drive_->Checkout(v);
    if (at.ok()) check(**at, v);
    std::lock_guard lock(mu);
    if (v > before) seen.push_back(v);  // not the call a new watch makes at once
    cv.notify_all();
  });
  ASSERT_TRUE(watcher.ok());
  std::vector<uint64_t> versions{drive_->version()};
  for (int round = 0; round < 6; round++) {
    ASSERT_TRUE(drive_->Rename(round % 2 == 0 ? "/a" : "/b", round % 2 == 0 ? "/b" : "/a").ok());
    versions.push_back(drive_->version());
  }
  for (uint64_t v : versions) check(*drive_->Checkout(v).value(), v);
  // The watcher sees the last rename; each version it was told of is one a rename reported
  // (appends that come while a callback runs are told together, at the latest version: two
  // calls in a row may both read the same latest version, never an older one).
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                          [&] { return !seen.empty() && seen.back() == versions.back(); }));
  EXPECT_TRUE(problems.empty()) << problems.front();
  for (size_t i = 0; i < seen.size(); i++) {
    EXPECT_NE(std::find(versions.begin() + 1, versions.end(), seen[i]), versions.end()) << seen[i];
    if (i > 0) {
      EXPECT_GE(seen[i], seen[i - 1]);
    }
  }
}

}  // namespace
}  // namespace hyper::drive
