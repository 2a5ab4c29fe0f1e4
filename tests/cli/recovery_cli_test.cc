// End to end: damaged stores (issue 21, "Wrong data, lost data, forks"). A drive of 21 files in
// 22 versions is built once through the CLI; every test damages a copy of it.
//
// What must hold whatever the damage: no command prints wrong bytes; `info` shows the drive's
// version or fails with a clear error (a signed version is never silently dropped); and after
// any `put` the cores still start with the exact signed history they had (no fork).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "hyper/corestore/corestore.h"
#include "hyper/crypto/crypto.h"
#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

constexpr int kFiles = 21;  // + the header: version 22

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One core of the pristine drive: where its folder is and what it had signed.
struct CoreFacts {
  std::string name;  // "metadata" / "content"
  std::string key;   // hex
  std::string dir;   // its folder inside a store
  uint64_t length = 0;
  std::vector<core::TreeNode> roots;  // of the whole length
};

class RecoveryCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = new Pristine();
    pristine_->Build();
  }
  static void TearDownTestSuite() {
    delete pristine_;
    pristine_ = nullptr;
  }

  struct Pristine {
    TempDir tmp;
    std::string store = tmp.Sub("pristine");
    std::string url;
    std::map<std::string, std::string> files;  // drive path -> content
    std::string listing;                       // ls -R
    std::vector<CoreFacts> cores;

    void Build() {
      url = Trim(Run(store, {"create"}).stdout_text);
      ASSERT_EQ(url.size(), 8u + 64u) << url;
      for (int i = 0; i < kFiles; ++i) {
        // A few 64 KiB content blocks each, and a last partial one.
        Bytes content(static_cast<size_t>(65536 * (i % 3) + 1000 * i + 17));
        crypto::RandomBytes(content);
        std::string path = (i % 2 ? "/docs/f" : "/f") + std::to_string(i) + ".bin";
        files[path] = AsString(content);
        ProcessRun put = Run(store, {"put", url + path, "-"}, files[path]);
        ASSERT_EQ(put.exit_code, 0) << put.stderr_text;
      }
      ProcessRun ls = Run(store, {"ls", "-R", url});
      ASSERT_EQ(ls.exit_code, 0) << ls.stderr_text;
      listing = ls.stdout_text;
      ProcessRun info = Run(store, {"info", url});
      ASSERT_NE(info.stdout_text.find("version:       22\n"), std::string::npos)
          << info.stdout_text;
      std::string content_key = Field(info.stdout_text, "content key:");
      auto store_handle = corestore::Corestore::OpenDirectory(Cores(store));
      ASSERT_TRUE(store_handle.ok());
      for (auto [name, key] : {std::pair<std::string, std::string>{"metadata", url.substr(8)},
                               {"content", content_key}}) {
        CoreFacts c;
        c.name = name;
        c.key = key;
        auto feed = Open(**store_handle, key);
        ASSERT_TRUE(feed.ok()) << feed.status().ToString();
        c.dir = corestore::Corestore::CoreDirectory((*feed)->discovery_key());
        c.length = (*feed)->length();
        c.roots = *(*feed)->RootHashes(c.length);
        cores.push_back(c);
      }
      ASSERT_EQ(cores[0].length, 22u);
      ASSERT_TRUE((*store_handle)->Close().ok());
    }
  };

  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  static std::string Field(const std::string& text, const std::string& label) {
    size_t at = text.find(label);
    if (at == std::string::npos) return "";
    size_t start = text.find_first_not_of(' ', at + label.size());
    return text.substr(start, text.find('\n', start) - start);
  }
  static ProcessRun Run(const std::string& store, std::vector<std::string> args,
                        const std::string& stdin_text = "") {
    return RunCli(store, std::move(args), stdin_text);
  }
  static Result<std::shared_ptr<core::Feed>> Open(corestore::Corestore& store,
                                                  const std::string& hex) {
    corestore::CoreOptions o;
    crypto::PublicKey key{};
    auto raw = FromHex(hex);
    if (!raw || raw->size() != key.size()) return Status::InvalidArgument("bad key " + hex);
    std::copy(raw->begin(), raw->end(), key.begin());
    o.key = key;
    o.create_if_missing = false;
    o.open_damaged = true;
    return store.Get(o);
  }

  // A fresh copy of the pristine store.
  std::string Copy() {
    std::string dir = tmp_.Sub("case" + std::to_string(copies_++));
    fs::copy(pristine_->store, dir, fs::copy_options::recursive);
    return dir;
  }
  std::string CoreFile(const std::string& store, int core, const std::string& file) {
    return Cores(store) + "/" + pristine_->cores[core].dir + "/" + file;
  }
  // A failure is one clear line on stderr (export: one line per entry it skipped, then the
  // summary line).
  static void ExpectClearError(const ProcessRun& run, const std::string& what,
                               bool one_line = true) {
    EXPECT_NE(run.exit_code, 0) << what;
    auto lines = std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n');
    if (one_line) {
      EXPECT_EQ(lines, 1) << what << ": " << run.stderr_text;
    } else {
      EXPECT_GE(lines, 1) << what << ": " << run.stderr_text;
    }
    EXPECT_EQ(run.stderr_text.rfind("hyperdrive: ", 0), 0u) << what << ": " << run.stderr_text;
  }
  // `info` shows version 22 (or, after a put, 23), or fails clearly: never fewer.
  static void ExpectVersionOrError(const std::string& store, int versions,
                                   const std::string& what) {
    ProcessRun info = Run(store, {"info", pristine_->url});
    if (info.exit_code == 0) {
      EXPECT_EQ(Field(info.stdout_text, "version:"), std::to_string(versions))
          << what << ": a signed version was dropped silently";
    } else {
      ExpectClearError(info, what + ": info");
    }
  }
  // Whatever happened, each core still begins with the history it had signed, or cannot be
  // opened as a healthy core (a damaged one is read-only). Returns the metadata core's length.
  static uint64_t ExpectNoFork(const std::string& store, const std::string& what) {
    auto handle = corestore::Corestore::OpenDirectory(Cores(store));
    EXPECT_TRUE(handle.ok()) << what << ": " << handle.status().ToString();
    if (!handle.ok()) return 0;
    uint64_t metadata_length = 0;
    for (const CoreFacts& c : pristine_->cores) {
      auto feed = Open(**handle, c.key);
      if (!feed.ok()) continue;  // e.g. a damaged header or key: nothing opens, nothing forks
      if (!(*feed)->damage().ok()) continue;  // read-only: nothing was written
      EXPECT_GE((*feed)->length(), c.length) << what << ": " << c.name << " core got shorter";
      if ((*feed)->length() >= c.length) {
        auto roots = (*feed)->RootHashes(c.length);
        EXPECT_TRUE(roots.ok() && *roots == c.roots)
            << what << ": the " << c.name << " core's signed history changed (a fork)";
      }
      if (c.name == "metadata") metadata_length = (*feed)->length();
    }
    EXPECT_TRUE((*handle)->Close().ok());
    return metadata_length;
  }
  // Every file `export` wrote is the original (or, when the export failed, a prefix of it).
  static void ExpectExportRight(const ProcessRun& run, const std::string& out,
                                const std::string& what) {
    size_t seen = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(out, ec)) {
      if (!e.is_regular_file()) continue;
      std::string path = "/" + fs::relative(e.path(), out).string();
      auto it = pristine_->files.find(path);
      EXPECT_NE(it, pristine_->files.end()) << what << ": export made up " << path;
      if (it == pristine_->files.end()) continue;
      std::string got = ReadFile(e.path());
      if (run.exit_code == 0) {
        EXPECT_TRUE(got == it->second) << what << ": wrong bytes exported for " << path;
      } else {
        EXPECT_TRUE(it->second.compare(0, got.size(), got) == 0)
            << what << ": wrong bytes exported for " << path;
      }
      ++seen;
    }
    if (run.exit_code == 0) {
      EXPECT_EQ(seen, pristine_->files.size()) << what << ": export dropped files";
    } else {
      ExpectClearError(run, what + ": export", /*one_line=*/false);
    }
  }

  // The whole check of one damaged store: info, ls -R, export, a put, then cat of an old file
  // and of the new one, and the history of both cores.
  void CheckDamagedStore(const std::string& store, const std::string& what) {
    const std::string& url = pristine_->url;
    ExpectVersionOrError(store, 22, what);
    ProcessRun ls = Run(store, {"ls", "-R", url});
    if (ls.exit_code == 0) {
      EXPECT_EQ(ls.stdout_text, pristine_->listing) << what << ": ls -R";
    } else {
      ExpectClearError(ls, what + ": ls -R");
    }
    std::string out = store + "-export";
    ExpectExportRight(Run(store, {"export", url, out}), out, what);
    ProcessRun put = Run(store, {"put", url + "/new.txt", "-"}, "written after the damage");
    if (put.exit_code != 0) ExpectClearError(put, what + ": put");
    for (const std::string path : {"/f0.bin", "/docs/f1.bin"}) {
      ProcessRun cat = Run(store, {"cat", url + path});
      if (cat.exit_code == 0) {
        EXPECT_TRUE(cat.stdout_text == pristine_->files[path])
            << what << ": cat " << path << " printed wrong bytes";
      } else {
        ExpectClearError(cat, what + ": cat " + path);
      }
    }
    uint64_t length = ExpectNoFork(store, what);
    if (put.exit_code == 0) {
      EXPECT_EQ(length, 23u) << what << ": the put did not land after the signed history";
      ProcessRun cat = Run(store, {"cat", url + "/new.txt"});
      EXPECT_EQ(cat.stdout_text, "written after the damage") << what;
    }
  }

  static Pristine* pristine_;
  TempDir tmp_;
  int copies_ = 0;
};

RecoveryCli::Pristine* RecoveryCli::pristine_ = nullptr;

void Truncate(const std::string& path, uint64_t size) { fs::resize_file(path, size); }

// Item 1: the four damages the issue names. Before the fix each one opened as version 2 (exit
// 0), and a put wrote a version 3 that forked the signed history.
TEST_F(RecoveryCli, ADamagedMetadataTailNeverRollsTheDriveBack) {
  const std::string& url = pristine_->url;
  {  // An emptied bitfield is rebuilt: nothing is lost at all.
    std::string store = Copy();
    Truncate(CoreFile(store, 0, "bitfield"), 0);
    ExpectVersionOrError(store, 22, "bitfield emptied");
    ProcessRun info = Run(store, {"info", url});
    EXPECT_EQ(info.exit_code, 0) << info.stderr_text;
    CheckDamagedStore(store, "bitfield emptied");
    ExpectVersionOrError(store, 23, "bitfield emptied, then put");
  }
  {  // One byte off data: the last trie node is missing (not the last version).
    std::string store = Copy();
    std::string data = CoreFile(store, 0, "data");
    Truncate(data, fs::file_size(data) - 1);
    CheckDamagedStore(store, "data cut by one byte");
    ProcessRun json = Run(store, {"core", "info", pristine_->cores[0].key, "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.stderr_text;
    auto info = nlohmann::json::parse(json.stdout_text);
    EXPECT_EQ(info["length"], 22);
    EXPECT_EQ(info["downloaded"], 21);
  }
  {  // All of data: every block is missing; the drive is there, it says so.
    std::string store = Copy();
    Truncate(CoreFile(store, 0, "data"), 0);
    ProcessRun info = Run(store, {"info", url});
    ExpectClearError(info, "data emptied");
    EXPECT_EQ(info.stderr_text.find("no drive"), std::string::npos) << info.stderr_text;
    EXPECT_NE(info.stderr_text.find("not stored locally"), std::string::npos) << info.stderr_text;
  }
  for (auto [file, half] : {std::pair<const char*, bool>{"signatures", false}, {"tree", true}}) {
    // The newest signature cannot be checked any more: the drive is read-only, with a clear
    // error, until the user repairs it (here by accepting the loss).
    std::string what = std::string(file) + (half ? " cut in half" : " cut by one byte");
    std::string store = Copy();
    std::string path = CoreFile(store, 0, file);
    Truncate(path, half ? fs::file_size(path) / 2 : fs::file_size(path) - 1);
    CheckDamagedStore(store, what);
    ProcessRun put = Run(store, {"put", url + "/x", "-"}, "x");
    EXPECT_NE(put.stderr_text.find("damaged feed: 22 blocks were signed and stored"),
              std::string::npos)
        << what << ": " << put.stderr_text;
    ProcessRun refused = Run(store, {"repair", url});
    EXPECT_EQ(refused.exit_code, 1) << what;
    EXPECT_NE(refused.stderr_text.find("--truncate"), std::string::npos) << refused.stderr_text;
    ProcessRun unconfirmed = Run(store, {"repair", url, "--truncate"});
    EXPECT_EQ(unconfirmed.exit_code, 1) << what;
    EXPECT_NE(unconfirmed.stderr_text.find("not confirmed"), std::string::npos);
    ExpectVersionOrError(store, 22, what + ", repair not confirmed");
    ProcessRun repaired = Run(store, {"repair", url, "--truncate", "--yes"});
    ASSERT_EQ(repaired.exit_code, 0) << what << ": " << repaired.stderr_text;
    EXPECT_NE(repaired.stdout_text.find("cut from 22 to "), std::string::npos)
        << repaired.stdout_text;
    ProcessRun info = Run(store, {"info", url});
    ASSERT_EQ(info.exit_code, 0) << info.stderr_text;
    int version = std::stoi(Field(info.stdout_text, "version:"));
    EXPECT_LT(version, 22);
    EXPECT_GT(version, 0);
    ProcessRun after = Run(store, {"put", url + "/after.txt", "-"}, "after the repair");
    EXPECT_EQ(after.exit_code, 0) << after.stderr_text;
    EXPECT_EQ(Run(store, {"cat", url + "/after.txt"}).stdout_text, "after the repair");
  }
}

// Item 2: with the content core's bitfield lost, a put used to restart the content core at
// block 0, and cat of an old file then printed the new file's bytes.
TEST_F(RecoveryCli, ALostContentBitfieldNeverServesANewFilesBytes) {
  std::string store = Copy();
  Truncate(CoreFile(store, 1, "bitfield"), 0);
  const std::string& url = pristine_->url;
  std::string fresh(70000, 'n');
  ASSERT_EQ(Run(store, {"put", url + "/fresh.bin", "-"}, fresh).exit_code, 0);
  for (const auto& [path, content] : pristine_->files) {
    ProcessRun cat = Run(store, {"cat", url + path});
    ASSERT_EQ(cat.exit_code, 0) << path << ": " << cat.stderr_text;
    EXPECT_TRUE(cat.stdout_text == content) << path << ": wrong bytes";
  }
  EXPECT_TRUE(Run(store, {"cat", url + "/fresh.bin"}).stdout_text == fresh);
  ExpectNoFork(store, "content bitfield emptied");
}

// Item 3: verify reports (and exits 1) without changing anything; --repair marks the bad block
// missing. Appending raw blocks to a drive's own core is refused unless forced.
TEST_F(RecoveryCli, VerifyReportsRepairRepairsAndDriveCoresRefuseRawAppends) {
  std::string store = Copy();
  const std::string& content = pristine_->cores[1].key;
  {
    std::fstream data(CoreFile(store, 1, "data"), std::ios::in | std::ios::out | std::ios::binary);
    data.seekp(5000);
    data.put('\xff');  // inside the first content block, whatever its bytes were
    data.seekp(5001);
    data.put('\x00');
  }
  for (int run = 0; run < 2; ++run) {  // reporting changes nothing: the second run agrees
    ProcessRun verify = Run(store, {"core", "verify", content});
    EXPECT_EQ(verify.exit_code, 1) << verify.stderr_text;
    EXPECT_NE(verify.stdout_text.find(" 1 invalid"), std::string::npos) << verify.stdout_text;
    EXPECT_NE(verify.stderr_text.find("--repair"), std::string::npos) << verify.stderr_text;
  }
  ProcessRun repair = Run(store, {"core", "verify", content, "--repair"});
  EXPECT_EQ(repair.exit_code, 0) << repair.stderr_text;
  EXPECT_NE(repair.stdout_text.find("1 invalid (marked missing"), std::string::npos)
      << repair.stdout_text;
  ProcessRun again = Run(store, {"core", "verify", content});
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_NE(again.stdout_text.find(" 0 invalid"), std::string::npos);
  ProcessRun info = Run(store, {"core", "info", content, "--json"});
  auto json = nlohmann::json::parse(info.stdout_text);
  EXPECT_EQ(json["length"], pristine_->cores[1].length) << "the length is kept";
  EXPECT_EQ(json["downloaded"], pristine_->cores[1].length - 1);

  for (const CoreFacts& c : pristine_->cores) {
    ProcessRun refused = Run(store, {"core", "append", c.key, "-"}, "raw");
    EXPECT_EQ(refused.exit_code, 1) << c.name;
    EXPECT_NE(refused.stderr_text.find("the " + c.name + " core of drive " + pristine_->url),
              std::string::npos)
        << refused.stderr_text;
  }
  ExpectNoFork(store, "raw appends refused");
  ProcessRun created = Run(store, {"core", "create"});
  std::string plain = Trim(created.stdout_text);
  EXPECT_EQ(Run(store, {"core", "append", plain, "-"}, "raw").exit_code, 0);
  ProcessRun forced = Run(store, {"core", "append", pristine_->cores[1].key, "-", "--force"}, "r");
  EXPECT_EQ(forced.exit_code, 0) << forced.stderr_text;

  ProcessRun list = Run(store, {"core", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  auto cores = nlohmann::json::parse(list.stdout_text);
  ASSERT_EQ(cores.size(), 3u);
  std::map<std::string, nlohmann::json> by_key;
  for (const auto& c : cores) by_key[c["key"]] = c;
  EXPECT_EQ(by_key[plain]["length"], 1);
  EXPECT_EQ(by_key[pristine_->cores[0].key]["length"], 22);
  EXPECT_EQ(by_key[pristine_->cores[0].key]["writable"], true);
  EXPECT_EQ(by_key[content]["length"], pristine_->cores[1].length + 1);
}

void FlipByte(const std::string& path, uint64_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char byte = 0;
  f.get(byte);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(byte ^ 0x5a));
}

// Items 1 and 3 with a peer: a seed of another store holding the drive serves the good copy.
// `repair --peer` gives a damaged store back everything it had signed and stored, nothing cut:
// every file reads right, a put extends the signed history, and `core verify` finds every block
// valid. A peer holding less changes nothing.
TEST_F(RecoveryCli, RepairFromAPeerRestoresWhatWasSignedAndStored) {
  const std::string& url = pristine_->url;
  const std::string& metadata = pristine_->cores[0].key;
  const std::string& content = pristine_->cores[1].key;
  std::string peer_dir = tmp_.Sub("peer");
  fs::create_directories(peer_dir);
  std::string addr;
  auto seed = StartSeed(Copy(), url, peer_dir, &addr);

  auto expect_whole = [&](const std::string& store, const std::string& what) {
    for (const auto& [path, bytes] : pristine_->files) {
      ProcessRun cat = Run(store, {"cat", url + path});
      EXPECT_EQ(cat.exit_code, 0) << what << ": cat " << path << ": " << cat.stderr_text;
      EXPECT_TRUE(cat.stdout_text == bytes) << what << ": wrong bytes for " << path;
    }
    ProcessRun put = Run(store, {"put", url + "/after.txt", "-"}, "after the repair");
    EXPECT_EQ(put.exit_code, 0) << what << ": " << put.stderr_text;
    EXPECT_EQ(Run(store, {"cat", url + "/after.txt"}).stdout_text, "after the repair") << what;
    ExpectVersionOrError(store, 23, what + ", then put");
    for (const std::string& key : {metadata, content}) {
      ProcessRun verify = Run(store, {"core", "verify", key});
      EXPECT_EQ(verify.exit_code, 0) << what << ": " << verify.stderr_text;
      EXPECT_NE(verify.stdout_text.find(" 0 invalid"), std::string::npos) << verify.stdout_text;
    }
    EXPECT_EQ(ExpectNoFork(store, what), 23u) << what;
  };

  struct Damage {
    std::string what;
    int core;
    std::string file;
    bool half;       // cut in half, else by one byte
    bool flip_data;  // and bytes of the content core's data flipped
  };
  for (const Damage& d :
       {Damage{"metadata signatures cut by one byte", 0, "signatures", false, true},
        Damage{"metadata tree cut in half", 0, "tree", true, false},
        Damage{"content tree cut in half", 1, "tree", true, true},
        Damage{"content data cut in half", 1, "data", true, false}}) {
    std::string store = Copy();
    std::string path = CoreFile(store, d.core, d.file);
    Truncate(path, d.half ? fs::file_size(path) / 2 : fs::file_size(path) - 1);
    if (d.flip_data) {
      for (uint64_t at : {uint64_t{100}, uint64_t{70000}, uint64_t{200000}}) {
        FlipByte(CoreFile(store, 1, "data"), at);
      }
    }
    ProcessRun repaired = Run(store, {"repair", url, "--peer", addr});
    ASSERT_EQ(repaired.exit_code, 0) << d.what << ": " << repaired.stderr_text;
    if (d.file != "data") {
      EXPECT_NE(repaired.stdout_text.find("signed history restored from peer " + addr),
                std::string::npos)
          << d.what << ": " << repaired.stdout_text;
    }
    EXPECT_NE(repaired.stdout_text.find("fetched from peer " + addr + " and verified"),
              std::string::npos)
        << repaired.stdout_text;
    ExpectVersionOrError(store, 22, d.what + ", repaired");
    expect_whole(store, d.what);
  }

  {  // core verify --repair --peer: bad blocks of one core fetched again.
    std::string store = Copy();
    FlipByte(CoreFile(store, 1, "data"), 5000);
    ProcessRun needs_repair = Run(store, {"core", "verify", content, "--peer", addr});
    EXPECT_EQ(needs_repair.exit_code, 2) << "--peer needs --repair";
    ProcessRun verify = Run(store, {"core", "verify", content, "--repair", "--peer", addr});
    ASSERT_EQ(verify.exit_code, 0) << verify.stderr_text;
    EXPECT_NE(verify.stdout_text.find("1 invalid"), std::string::npos) << verify.stdout_text;
    EXPECT_NE(verify.stdout_text.find("1 fetched from peer " + addr), std::string::npos)
        << verify.stdout_text;
    expect_whole(store, "content flipped, core verify --repair --peer");
  }

  {  // A peer that holds less than was signed here cannot repair: nothing changes.
    std::string shorter = Copy();
    Truncate(CoreFile(shorter, 0, "signatures"),
             fs::file_size(CoreFile(shorter, 0, "signatures")) - 1);
    ASSERT_EQ(Run(shorter, {"repair", url, "--truncate", "--yes"}).exit_code, 0);
    seed.reset();
    auto short_seed = StartSeed(shorter, url, peer_dir, &addr);
    std::string store = Copy();
    Truncate(CoreFile(store, 0, "tree"), fs::file_size(CoreFile(store, 0, "tree")) / 2);
    ProcessRun refused = Run(store, {"repair", url, "--peer", addr});
    EXPECT_EQ(refused.exit_code, 1) << refused.stderr_text;
    EXPECT_NE(refused.stderr_text.find("did not send the signed history of core " + metadata +
                                       " up to its 22 blocks"),
              std::string::npos)
        << refused.stderr_text;
    ProcessRun put = Run(store, {"put", url + "/x", "-"}, "x");
    EXPECT_NE(put.stderr_text.find("damaged feed: 22 blocks were signed and stored"),
              std::string::npos)
        << "still read-only: " << put.stderr_text;
    ExpectNoFork(store, "repair from a shorter peer");
  }
}

// The corruption matrix: every file of both cores truncated (one byte, half, all) and flipped
// at several offsets, each on a fresh copy, then the whole CheckDamagedStore round. Sharded by
// core and file (one ctest entry each, run side by side by ctest -j): each shard builds its own
// pristine drive, and together they cover every case.
struct MatrixShard {
  int core;                        // 0 metadata, 1 content
  std::vector<std::string> files;  // of the core's folder
  std::string name;
};
// How gtest (and so ctest's test list) shows a shard.
void PrintTo(const MatrixShard& shard, std::ostream* os) { *os << shard.name; }

class CorruptionMatrix : public RecoveryCli, public ::testing::WithParamInterface<MatrixShard> {
 protected:
  // The cases of one file of one core; returns how many ran.
  int RunFile(int core, const std::string& file) {
    std::string probe = CoreFile(pristine_->store, core, file);
    if (!fs::exists(probe)) return 0;  // a name-derived core stores no secret_key
    const uint64_t size = fs::file_size(probe);
    std::string base = pristine_->cores[core].name + " " + file;
    int cases = 0;
    for (uint64_t cut : {size - 1, size / 2, uint64_t{0}}) {
      if (size == 0) break;
      std::string store = Copy();
      Truncate(CoreFile(store, core, file), cut);
      CheckDamagedStore(store, base + " cut to " + std::to_string(cut));
      ++cases;
    }
    // Flips: in the header, the first entry, across the middle, and in the last entries.
    std::set<uint64_t> offsets = {3, 40, size / 4, size / 2, 3 * size / 4, size - 1};
    if (size > 70) offsets.insert({size - 70, size - 33});
    for (uint64_t at : offsets) {
      if (at >= size) continue;
      std::string store = Copy();
      FlipByte(CoreFile(store, core, file), at);
      CheckDamagedStore(store, base + " flipped at " + std::to_string(at));
      ++cases;
    }
    return cases;
  }
};

TEST_P(CorruptionMatrix, EveryDamageIsReadRightOrAClearError) {
  const MatrixShard& shard = GetParam();
  int cases = 0;
  for (const std::string& file : shard.files) {
    int ran = RunFile(shard.core, file);
    // 3 cuts and at least 5 flips of each file the core has (the 32-byte key included).
    if (ran > 0) {
      EXPECT_GE(ran, 8) << shard.name << " " << file;
    }
    cases += ran;
    if (HasFailure()) return;
  }
  // Every shard holds a file that every core has (tree, data, signatures, bitfield).
  EXPECT_GE(cases, 8) << shard.name;
}

// 2 cores x (key, secret_key, tree | data | signatures, bitfield): over 100 cases in all.
INSTANTIATE_TEST_SUITE_P(
    RecoveryCli, CorruptionMatrix,
    ::testing::Values(MatrixShard{0, {"key", "secret_key", "tree"}, "metadata_key_tree"},
                      MatrixShard{0, {"data"}, "metadata_data"},
                      MatrixShard{0, {"signatures", "bitfield"}, "metadata_signatures_bitfield"},
                      MatrixShard{1, {"key", "secret_key", "tree"}, "content_key_tree"},
                      MatrixShard{1, {"data"}, "content_data"},
                      MatrixShard{1, {"signatures", "bitfield"}, "content_signatures_bitfield"}),
    [](const ::testing::TestParamInfo<MatrixShard>& info) { return info.param.name; });

}  // namespace
}  // namespace hyper::cli
