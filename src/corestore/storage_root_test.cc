#include "hyper/corestore/storage_root.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hyper/corestore/corestore.h"
#include "tests/support/temp_dir.h"

namespace hyper::corestore {
namespace {

namespace fs = std::filesystem;
using hyper::testing::TempDir;

TEST(StorageRoot, Layout) {
  EXPECT_EQ(CoresDirectory("/r"), "/r/storage/cores");
  EXPECT_EQ(StateDbDirectory("/r"), "/r/storage/db");
  EXPECT_EQ(ConfigFile("/r"), "/r/config.json");
}

// A store with `count` cores written in `dir` the way the CLI wrote it before (directly in the
// folder): each core's key and first block.
std::map<std::string, std::string> WriteStore(const std::string& dir, int count) {
  std::map<std::string, std::string> blocks;
  auto store = Corestore::OpenDirectory(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  for (int i = 0; i < count; i++) {
    CoreOptions o;
    if (i % 2 == 0) o.name = "named-" + std::to_string(i);  // its key derives from master_key
    auto feed = (*store)->Get(o);
    EXPECT_TRUE(feed.ok());
    const std::string block = "block of core " + std::to_string(i);
    EXPECT_TRUE((*feed)->Append(AsBytes(block)).ok());
    blocks[ToHex((*feed)->key())] = block;
  }
  EXPECT_TRUE((*store)->Close().ok());
  return blocks;
}

// Every core of `blocks` opens from `dir` (named ones through the master key) with its block.
void ExpectStore(const std::string& dir, const std::map<std::string, std::string>& blocks) {
  CorestoreOptions options;
  options.access = Access::kRead;
  auto store = Corestore::OpenDirectory(dir, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto keys = (*store)->List();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), blocks.size());
  for (const auto& [hex, block] : blocks) {
    CoreOptions o;
    crypto::PublicKey key{};
    auto raw = FromHex(hex);
    ASSERT_TRUE(raw.ok());
    std::copy(raw->begin(), raw->end(), key.begin());
    o.key = key;
    o.create_if_missing = false;
    auto feed = (*store)->Get(o);
    ASSERT_TRUE(feed.ok()) << hex << ": " << feed.status().ToString();
    auto got = (*feed)->Get(BlockIndex(0));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(AsString(*got), block);
  }
}

// The core folders (ab/cd/<dk>) under `dir`.
std::vector<std::string> Folders(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().size() == 64) {
      out.push_back(fs::relative(e.path(), dir).string());
    }
  }
  return out;
}

TEST(MoveLegacyStore, NothingToMove) {
  TempDir tmp;
  auto moved = MoveLegacyStore(tmp.Sub("root"));
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(moved->entries.empty());
  EXPECT_FALSE(fs::exists(tmp.Sub("root"))) << "nothing created";
}

// `--storage X` before: the store was X itself.
TEST(MoveLegacyStore, FromTheRootItself) {
  TempDir tmp;
  const std::string root = tmp.Sub("root");
  auto blocks = WriteStore(root, 5);
  auto moved = MoveLegacyStore(root);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->from, root);
  ASSERT_EQ(moved->entries.size(), 6u);
  EXPECT_EQ(moved->entries.back(), "master_key");
  EXPECT_FALSE(fs::exists(root + "/master_key"));
  EXPECT_TRUE(Folders(root + "/storage").size() == 5);
  EXPECT_EQ(Folders(CoresDirectory(root)).size(), 5u);
  // Only the cores directory (and the lock file) is left at the top.
  for (const auto& e : fs::directory_iterator(root)) {
    EXPECT_TRUE(e.path().filename() == "storage" || e.path().filename() == "LOCK") << e.path();
  }
  ExpectStore(CoresDirectory(root), blocks);
  auto again = MoveLegacyStore(root);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->entries.empty()) << "moved once";
}

// The default before: ~/.hyperdrive/storage was the store; now it holds cores/ (and db/).
TEST(MoveLegacyStore, FromStorageUnderTheRoot) {
  TempDir tmp;
  const std::string root = tmp.Sub("home/.hyperdrive");
  auto blocks = WriteStore(root + "/storage", 3);
  auto moved = MoveLegacyStore(root);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->from, root + "/storage");
  EXPECT_EQ(moved->entries.size(), 4u);
  for (const auto& e : fs::directory_iterator(root + "/storage")) {
    EXPECT_TRUE(e.path().filename() == "cores" || e.path().filename() == "LOCK") << e.path();
  }
  ExpectStore(CoresDirectory(root), blocks);
}

// Interrupted midway: half the core folders moved, the master key not yet. A rerun finishes
// the move and every core is there, whole, exactly once.
TEST(MoveLegacyStore, InterruptedMoveIsFinishedByARerun) {
  TempDir tmp;
  const std::string root = tmp.Sub("root");
  auto blocks = WriteStore(root, 6);
  std::vector<std::string> folders = Folders(root);
  ASSERT_EQ(folders.size(), 6u);
  const std::string cores = CoresDirectory(root);
  for (size_t i = 0; i < folders.size() / 2; i++) {  // what the first run did before it died
    fs::create_directories(fs::path(cores + "/" + folders[i]).parent_path());
    fs::rename(root + "/" + folders[i], cores + "/" + folders[i]);
  }
  auto moved = MoveLegacyStore(root);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->entries.size(), 4u) << "the three left and the master key";
  EXPECT_EQ(Folders(cores).size(), 6u);
  EXPECT_EQ(Folders(root).size(), 6u) << "each core once (cores/ is under root)";
  ExpectStore(cores, blocks);
}

// Two different stores (the old one and one already in place) are never mixed: an error, and
// both are left as they were.
TEST(MoveLegacyStore, TwoStoresAreRefused) {
  TempDir tmp;
  const std::string root = tmp.Sub("root");
  auto old_blocks = WriteStore(root, 2);
  auto new_blocks = WriteStore(CoresDirectory(root), 1);
  auto moved = MoveLegacyStore(root);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), Code::kExists);
  EXPECT_NE(moved.status().message().find("different master keys"), std::string::npos)
      << moved.status().ToString();
  EXPECT_TRUE(fs::exists(root + "/master_key"));
  EXPECT_EQ(Folders(CoresDirectory(root)).size(), 1u);

  // Both the root and root/storage holding an old store: which one is meant is unclear.
  TempDir tmp2;
  const std::string root2 = tmp2.Sub("root");
  WriteStore(root2, 1);
  WriteStore(root2 + "/storage", 1);
  auto both = MoveLegacyStore(root2);
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), Code::kExists);
  EXPECT_TRUE(fs::exists(root2 + "/master_key"));
  EXPECT_TRUE(fs::exists(root2 + "/storage/master_key"));
}

// The cores folder of a root given as a root is not moved into itself: an error naming the root.
TEST(MoveLegacyStore, TheCoresFolderOfARootIsNotARoot) {
  TempDir tmp;
  const std::string outer = tmp.Sub("daemon-root");
  WriteStore(CoresDirectory(outer), 1);
  for (const std::string& given : {CoresDirectory(outer), CoresDirectory(outer) + "/"}) {
    auto moved = MoveLegacyStore(given);
    ASSERT_FALSE(moved.ok()) << given;
    EXPECT_EQ(moved.status().code(), Code::kInvalidArgument);
    EXPECT_NE(moved.status().message().find("give --storage " + outer), std::string::npos)
        << moved.status().ToString();
  }
  EXPECT_EQ(Folders(CoresDirectory(outer)).size(), 1u);
  EXPECT_FALSE(fs::exists(CoresDirectory(outer) + "/storage"));
}

// A process using the old store (a seed of the version before) keeps it: Busy, nothing moved.
TEST(MoveLegacyStore, AStoreInUseIsNotMoved) {
  TempDir tmp;
  const std::string root = tmp.Sub("root");
  auto blocks = WriteStore(root, 2);
  auto holder = Corestore::OpenDirectory(root);
  ASSERT_TRUE(holder.ok());
  auto moved = MoveLegacyStore(root);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), Code::kBusy) << moved.status().ToString();
  EXPECT_EQ(Folders(root).size(), 2u);
  EXPECT_TRUE(Folders(CoresDirectory(root)).empty());
  ASSERT_TRUE((*holder)->Close().ok());
  holder->reset();
  ASSERT_TRUE(MoveLegacyStore(root).ok());
  ExpectStore(CoresDirectory(root), blocks);
}

}  // namespace
}  // namespace hyper::corestore
