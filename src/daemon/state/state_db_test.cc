#include "hyper/daemon/state_db.h"

#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "tests/support/temp_dir.h"

namespace hyper::daemon {
namespace {

namespace fs = std::filesystem;
using hyper::testing::TempDir;

template <typename Key>
Key KeyOf(uint8_t seed) {
  Key k{};
  for (size_t i = 0; i < k.size(); i++) k[i] = static_cast<uint8_t>(seed * 31 + i);
  return k;
}

// Every entry of the LevelDB in `dir`, raw (the database must be closed).
std::map<std::string, std::string> Raw(const std::string& dir) {
  std::map<std::string, std::string> out;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(leveldb::Options(), dir, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<leveldb::DB> db(raw);
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out[it->key().ToString()] = it->value().ToString();
  return out;
}

// Puts raw entries into the LevelDB in `dir` (as another program, or damage, would).
void PutRaw(const std::string& dir, const std::map<std::string, std::string>& entries) {
  leveldb::DB* raw = nullptr;
  leveldb::Options options;
  options.create_if_missing = true;
  ASSERT_TRUE(leveldb::DB::Open(options, dir, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  for (const auto& [k, v] : entries) ASSERT_TRUE(db->Put(leveldb::WriteOptions(), k, v).ok());
}

TEST(StateDb, EmptyWhenCreated) {
  TempDir tmp;
  const std::string dir = tmp.Sub("root/storage/db");
  auto db = StateDb::Open(dir);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(fs::exists(dir + "/CURRENT"));
  auto root = (*db)->RootDrive();
  ASSERT_TRUE(root.ok());
  EXPECT_FALSE(*root);
  EXPECT_TRUE((*db)->NetworkConfigurations()->empty());
  EXPECT_TRUE((*db)->Mirrors()->empty());
  EXPECT_TRUE((*db)->Drives()->empty());
  EXPECT_FALSE(*(*db)->NetworkConfiguration(KeyOf<crypto::Hash>(1)));
}

// Each record round-trips, and is written with the reference's keys and bytes
// (docs/formats/daemon-state.md).
TEST(StateDb, RecordsAreTheReferencesBytes) {
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  const auto a = KeyOf<crypto::PublicKey>(1);
  const auto b = KeyOf<crypto::PublicKey>(2);
  const auto dka = KeyOf<crypto::Hash>(3);
  const auto dkb = KeyOf<crypto::Hash>(4);
  {
    auto db = std::move(StateDb::Open(dir)).value();
    ASSERT_TRUE(db->PutRootDrive({"/home/u/Hyperdrive", a, ""}).ok());
    ASSERT_TRUE(db->PutNetworkConfiguration({dka, a, {true, true, true}}).ok());
    ASSERT_TRUE(db->PutNetworkConfiguration({dkb, b, {true, false, true}}).ok());
    ASSERT_TRUE(db->PutMirror(b).ok());
    ASSERT_TRUE(db->PutDrive(a).ok());
    ASSERT_TRUE(db->PutDrive(b).ok());

    auto root = db->RootDrive();
    ASSERT_TRUE(root.ok() && *root) << root.status().ToString();
    EXPECT_EQ((*root)->mountpoint, "/home/u/Hyperdrive");
    EXPECT_EQ((*root)->key, a);
    EXPECT_EQ((*root)->opts_json, "{\"key\":\"" + ToHex(a) + "\"}");
    auto seeding = db->NetworkConfigurations();
    ASSERT_TRUE(seeding.ok());
    std::vector<SeedingRecord> expected = {{dka, a, {true, true, true}},
                                           {dkb, b, {true, false, true}}};
    if (ToHex(dkb) < ToHex(dka)) std::swap(expected[0], expected[1]);
    EXPECT_EQ(*seeding, expected);
    EXPECT_EQ(**db->NetworkConfiguration(dkb), (SeedingRecord{dkb, b, {true, false, true}}));
    EXPECT_EQ(*db->Mirrors(), std::vector<crypto::PublicKey>{b});
    auto drives = *db->Drives();
    EXPECT_EQ(drives.size(), 2u);
  }
  auto raw = Raw(dir);
  EXPECT_EQ(raw["!fuse!root-drive"],
            "{\"mnt\":\"/home/u/Hyperdrive\",\"opts\":{\"key\":\"" + ToHex(a) + "\"}}");
  EXPECT_EQ(raw["!drives!!seeding!" + ToHex(dka)],
            "{\"key\":\"" + ToHex(a) +
                "\",\"opts\":{\"lookup\":true,\"announce\":true,\"remember\":true}}");
  EXPECT_EQ(raw["!drives!!seeding!" + ToHex(dkb)],
            "{\"key\":\"" + ToHex(b) +
                "\",\"opts\":{\"lookup\":true,\"announce\":false,\"remember\":true}}");
  EXPECT_EQ(raw["!drives!!mirrors!" + ToHex(b)], "mirroring");
  EXPECT_EQ(raw["!drives!!drives!" + ToHex(a)], "[object Object]");
  EXPECT_EQ(raw.size(), 6u);

  // Deletes, and a reopen sees what was left.
  auto db = std::move(StateDb::Open(dir)).value();
  ASSERT_TRUE(db->DeleteNetworkConfiguration(dka).ok());
  ASSERT_TRUE(db->DeleteMirror(b).ok());
  EXPECT_FALSE(*db->NetworkConfiguration(dka));
  EXPECT_EQ(db->NetworkConfigurations()->size(), 1u);
  EXPECT_TRUE(db->Mirrors()->empty());
}

// Other mount options of the root drive are kept as they were; the key is always the record's.
TEST(StateDb, RootDriveKeepsItsOtherOptions) {
  TempDir tmp;
  const auto a = KeyOf<crypto::PublicKey>(7);
  auto db = std::move(StateDb::Open(tmp.Sub("db"))).value();
  ASSERT_TRUE(db->PutRootDrive({"/m", a, R"({"version":3,"key":"00","hash":null})"}).ok());
  auto root = std::move(db->RootDrive()).value();
  ASSERT_TRUE(root);
  EXPECT_EQ(root->key, a);
  EXPECT_EQ(root->opts_json, R"({"version":3,"key":")" + ToHex(a) + R"(","hash":null})");
  EXPECT_EQ(db->PutRootDrive({"/m", a, "[1]"}).code(), Code::kInvalidArgument);
}

// fuse-setup records where to mount before there is a root drive: `opts` without a key, which
// the reference reads as "make a new drive"; the key written later takes its place.
TEST(StateDb, RootDriveWithoutAKeyYet) {
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  {
    auto db = std::move(StateDb::Open(dir)).value();
    ASSERT_TRUE(db->PutRootDrive({"/home/u/Hyperdrive", std::nullopt, ""}).ok());
    auto root = std::move(db->RootDrive()).value();
    ASSERT_TRUE(root);
    EXPECT_EQ(root->mountpoint, "/home/u/Hyperdrive");
    EXPECT_FALSE(root->key);
  }
  EXPECT_EQ(Raw(dir)["!fuse!root-drive"], R"({"mnt":"/home/u/Hyperdrive","opts":{}})");
  auto db = std::move(StateDb::Open(dir)).value();
  const auto a = KeyOf<crypto::PublicKey>(9);
  ASSERT_TRUE(db->PutRootDrive({"/home/u/Hyperdrive", a, "{}"}).ok());
  EXPECT_EQ((*db->RootDrive())->key, a);
  // A key given and then taken away leaves no "key" behind.
  ASSERT_TRUE(db->PutRootDrive({"/m", std::nullopt, R"({"key":"ab","version":2})"}).ok());
  EXPECT_EQ((*db->RootDrive())->opts_json, R"({"version":2})");
}

// Records that do not decode are a clear Corruption naming the record, never a crash.
TEST(StateDb, BadRecordsAreCorruption) {
  const std::string dk = ToHex(KeyOf<crypto::Hash>(5));
  const std::string key = ToHex(KeyOf<crypto::PublicKey>(6));
  struct Case {
    std::string raw_key, raw_value, what;
  };
  const std::vector<Case> cases = {
      {"!fuse!root-drive", "{not json", "root-drive"},
      {"!fuse!root-drive", R"({"mnt":"/m"})", "root-drive"},
      {"!fuse!root-drive", R"({"mnt":"/m","opts":{"key":"xyz"}})", "root-drive"},
      {"!fuse!root-drive", R"({"mnt":7,"opts":{"key":")" + key + "\"}}", "root-drive"},
      {"!drives!!seeding!" + dk, "[]", dk},
      {"!drives!!seeding!" + dk, R"({"key":")" + key + R"(","opts":{"lookup":"yes"}})", dk},
      {"!drives!!seeding!" + dk, R"({"key":")" + key.substr(1) + R"(","opts":{}})", dk},
      {"!drives!!seeding!not-hex", "{}", "not-hex"},
      {"!drives!!mirrors!" + key.substr(2), "mirroring", key.substr(2)},
      {std::string("!drives!!drives!\xff\x01", 18), "x", "\\xff\\x01"},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    PutRaw(tmp.Sub("db"), {{c.raw_key, c.raw_value}});
    auto db = std::move(StateDb::Open(tmp.Sub("db"))).value();
    Status status = db->RootDrive().status();
    if (status.ok()) status = db->NetworkConfigurations().status();
    if (status.ok()) status = db->Mirrors().status();
    if (status.ok()) status = db->Drives().status();
    EXPECT_EQ(status.code(), Code::kCorruption) << c.raw_value << ": " << status.ToString();
    EXPECT_NE(status.message().find(c.what), std::string::npos) << status.ToString();
  }
  // A seeding record without options set reads them as false, as the reference's `!!` does.
  TempDir tmp;
  PutRaw(tmp.Sub("db"), {{"!drives!!seeding!" + dk, R"({"key":")" + key + R"(","opts":{}})"}});
  auto db = std::move(StateDb::Open(tmp.Sub("db"))).value();
  auto record = db->NetworkConfigurations();
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  ASSERT_EQ(record->size(), 1u);
  EXPECT_EQ((*record)[0].network, (NetworkConfiguration{false, false, false}));
}

// A database another process has open (a running daemon) is Busy, with a message that says so.
TEST(StateDb, HeldByAnotherProcessIsBusy) {
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  int opened[2];
  int release[2];
  ASSERT_EQ(pipe(opened), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = StateDb::Open(dir);
    char c = db.ok() ? 'y' : 'n';
    (void)!write(opened[1], &c, 1);
    (void)!read(release[0], &c, 1);  // holds the database until the parent is done
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(opened[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto db = StateDb::Open(dir);
  EXPECT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kBusy) << db.status().ToString();
  EXPECT_NE(db.status().message().find("in use by another process"), std::string::npos);
  ASSERT_EQ(write(release[1], "x", 1), 1);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  EXPECT_TRUE(StateDb::Open(dir).ok()) << "free once the other process is gone";
  for (int fd : {opened[0], opened[1], release[0], release[1]}) close(fd);
}

// A database whose files are damaged, or a path that is not a folder: an error, no crash.
TEST(StateDb, DamagedDatabaseIsAnError) {
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  {
    auto db = std::move(StateDb::Open(dir)).value();
    ASSERT_TRUE(db->PutMirror(KeyOf<crypto::PublicKey>(1)).ok());
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << std::string(100, '\x5a');
    }
  }
  auto db = StateDb::Open(dir);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::kCorruption) << db.status().ToString();

  std::ofstream(tmp.Sub("file")) << "x";
  auto not_a_dir = StateDb::Open(tmp.Sub("file"));
  EXPECT_FALSE(not_a_dir.ok());
}

}  // namespace
}  // namespace hyper::daemon
