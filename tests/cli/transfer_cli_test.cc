// End to end: `hyperdrive import` and `hyperdrive export` as a user meets them: the URL of a new
// drive said first, a summary at the end, unchanged content never appended again, --dry-run,
// symlinks exported as links, bad entries reported and skipped, no partial files.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"
#include "hyper/trie/trie.h"
#include "hyper/util/bytes.h"
#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/local_tree.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TransferCli : public CliTest {
 protected:
  uint64_t ContentBytes(const std::string& url) {
    std::string content_key = Json({"info", url, "--json"})["contentKey"];
    return Json({"core", "info", content_key, "--json"})["byteLength"];
  }
  // A folder of files of several sizes (one above the batch limit), a link and an empty folder.
  void MakeFolder(const std::string& src) {
    fs::create_directories(src + "/sub/deeper");
    fs::create_directories(src + "/empty");
    WriteAll(src + "/a.txt", "alpha\n");
    WriteAll(src + "/sub/b.txt", "bravo bravo\n");
    WriteAll(src + "/sub/deeper/big.bin", std::string(1536 * 1024 + 5, 'z'));
    fs::create_symlink("a.txt", src + "/link");
    uint64_t t = 1600000000000;
    for (const char* p : {"/a.txt", "/sub/b.txt", "/sub/deeper/big.bin"})
      SetMtime(src + p, t += 1000);
  }
};

TEST_F(TransferCli, ImportSaysTheUrlFirstAndEndsWithASummary) {
  std::string src = tmp_.Sub("src");
  MakeFolder(src);
  ProcessRun run = Run({"import", src});
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  // stdout: the URL alone, for scripts.
  ASSERT_EQ(run.stdout_text.rfind("hyper://", 0), 0u);
  std::string url = run.stdout_text.substr(0, run.stdout_text.find('\n'));
  EXPECT_EQ(run.stdout_text, url + "\n");
  // stderr: the URL on the first line (before anything is written), the summary on the last.
  std::string first = run.stderr_text.substr(0, run.stderr_text.find('\n'));
  EXPECT_TRUE(Contains(first, "importing into " + url)) << run.stderr_text;
  EXPECT_TRUE(Contains(first, "hyperdrive import " + src + " " + url)) << "how to resume";
  uint64_t bytes = 6 + 12 + 1536 * 1024 + 5;
  EXPECT_TRUE(Contains(run.stderr_text, "imported 7 added, 0 changed, 0 removed, 0 unchanged; " +
                                            std::to_string(bytes) + " bytes appended"))
      << run.stderr_text;

  // Into an existing drive: no first line (the user has the URL), the same summary form.
  WriteAll(src + "/sub/b.txt", "changed\n");
  fs::remove(src + "/a.txt");
  ProcessRun again = Run({"import", src, url});
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(again.stdout_text, url + "\n");
  EXPECT_EQ(again.stderr_text,
            "hyperdrive: imported 0 added, 1 changed, 1 removed, 5 unchanged; 8 bytes appended\n");
}

TEST_F(TransferCli, ImportAndPutPointDuplicateFilesAtTheBlocksTheDriveHolds) {
  // A big file (streamed in) and a small one (batched), each with a copy elsewhere.
  std::string src = tmp_.Sub("dups");
  fs::create_directories(src + "/one");
  fs::create_directories(src + "/two");
  std::string big(6 * 1024 * 1024 + 123, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>((i * 31) ^ (i >> 13));
  WriteAll(src + "/one/big.bin", big);
  WriteAll(src + "/two/big-copy.bin", big);
  WriteAll(src + "/one/small.txt", "the same small file\n");
  WriteAll(src + "/two/small-copy.txt", "the same small file\n");
  const uint64_t small = 20;
  const uint64_t total = 2 * big.size() + 2 * small;

  ProcessRun run = Run({"import", src});
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  std::string url = run.stdout_text.substr(0, run.stdout_text.find('\n'));
  EXPECT_TRUE(Contains(run.stderr_text, std::to_string(big.size() + small) + " bytes appended, " +
                                            std::to_string(big.size() + small) +
                                            " bytes deduplicated"))
      << run.stderr_text;
  EXPECT_EQ(ContentBytes(url), big.size() + small);

  ProcessRun plain = Run({"import", "--no-dedup", src});
  ASSERT_EQ(plain.exit_code, 0) << plain.stderr_text;
  std::string plain_url = plain.stdout_text.substr(0, plain.stdout_text.find('\n'));
  EXPECT_TRUE(Contains(plain.stderr_text, "; " + std::to_string(total) + " bytes appended\n"))
      << plain.stderr_text;
  EXPECT_EQ(ContentBytes(plain_url), total);

  // Both export the same bytes.
  for (const auto& [u, out] : {std::pair{url, tmp_.Sub("out")}, {plain_url, tmp_.Sub("plain")}}) {
    Ok({"export", u, out});
    EXPECT_EQ(ReadAll(out + "/one/big.bin"), big);
    EXPECT_EQ(ReadAll(out + "/two/big-copy.bin"), big);
    EXPECT_EQ(ReadAll(out + "/two/small-copy.txt"), "the same small file\n");
  }

  // put: the same, and --no-dedup appends.
  Ok({"put", url + "/three/big.bin", src + "/one/big.bin"});
  EXPECT_EQ(ContentBytes(url), big.size() + small);
  Ok({"put", "--no-dedup", url + "/four/big.bin", src + "/one/big.bin"});
  EXPECT_EQ(ContentBytes(url), 2 * big.size() + small);
  EXPECT_EQ(Ok({"cat", url + "/three/big.bin"}), big);
  EXPECT_EQ(Ok({"cat", url + "/four/big.bin"}), big);
}

TEST_F(TransferCli, ReimportAfterCopyChmodOrTouchAppendsNoContent) {
  std::string src = tmp_.Sub("src");
  MakeFolder(src);
  std::string url = Ok({"import", src});
  uint64_t content = ContentBytes(url);

  // cp -r gives every file a new mtime; importing the copy into the drive changes attributes.
  std::string copy = tmp_.Sub("copy");
  auto cp = hyper::testing::RunProcess({"cp", "-r", src, copy});
  ASSERT_TRUE(cp.ok() && cp->exit_code == 0);
  for (const char* p : {"/a.txt", "/sub/b.txt", "/sub/deeper/big.bin"})
    SetMtime(copy + p, 1700000000000);
  ProcessRun run = Run({"import", copy, url});
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "3 changed (3 only in mode or mtime)")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "; 0 bytes appended")) << run.stderr_text;
  EXPECT_EQ(ContentBytes(url), content) << "no content appended again";

  // chmod and touch: the same.
  ASSERT_EQ(chmod((copy + "/a.txt").c_str(), 0600), 0);
  SetMtime(copy + "/sub/b.txt", 1700000001000);
  run = Run({"import", copy, url});
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "2 changed (2 only in mode or mtime)")) << run.stderr_text;
  EXPECT_EQ(ContentBytes(url), content);
  // The drive has the new attributes and the same bytes.
  Ok({"export", url, tmp_.Sub("out")});
  EXPECT_EQ(ReadLocalTree(tmp_.Sub("out"), false), ReadLocalTree(copy, false));

  // Nothing changed: nothing written at all.
  uint64_t version = Version(url);
  run = Run({"import", copy, url});
  EXPECT_TRUE(Contains(run.stderr_text, "0 added, 0 changed, 0 removed, 7 unchanged"))
      << run.stderr_text;
  EXPECT_EQ(Version(url), version);
}

TEST_F(TransferCli, SameSizeEditWithTheOldMtimeIsFoundByChecksum) {
  std::string src = tmp_.Sub("src");
  MakeFolder(src);
  std::string url = Ok({"import", src});
  WriteAll(src + "/sub/b.txt", "BRAVO BRAVO\n");  // same size
  SetMtime(src + "/sub/b.txt", 1600000002000);    // the old mtime
  // As rsync: size and mtime match, so without --checksum the file looks unchanged...
  ProcessRun quick = Run({"import", src, url});
  EXPECT_TRUE(Contains(quick.stderr_text, "0 changed")) << quick.stderr_text;
  EXPECT_EQ(Ok({"cat", url + "/sub/b.txt"}), "bravo bravo");
  // ...and --checksum compares the bytes of every file.
  ProcessRun sums = Run({"import", "--checksum", src, url});
  ASSERT_EQ(sums.exit_code, 0) << sums.stderr_text;
  EXPECT_TRUE(Contains(sums.stderr_text, "1 changed, 0 removed, 6 unchanged; 12 bytes appended"))
      << sums.stderr_text;
  EXPECT_EQ(Ok({"cat", url + "/sub/b.txt"}), "BRAVO BRAVO");
}

TEST_F(TransferCli, DryRunListsWhatItWouldDoAndWritesNothing) {
  std::string src = tmp_.Sub("src");
  MakeFolder(src);
  ProcessRun fresh = Run({"import", "--dry-run", src});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.stderr_text;
  EXPECT_EQ(fresh.stdout_text,
            "add /a.txt\nadd /empty\nadd /link\nadd /sub\nadd /sub/b.txt\nadd /sub/deeper\n"
            "add /sub/deeper/big.bin\n");
  EXPECT_TRUE(Contains(fresh.stderr_text, "dry run, nothing written: would import 7 added"))
      << fresh.stderr_text;
  EXPECT_EQ(Ok({"drives"}), "") << "no drive was created";

  std::string url = Ok({"import", src});
  uint64_t version = Version(url);
  WriteAll(src + "/sub/b.txt", "changed\n");
  WriteAll(src + "/new.txt", "new\n");
  fs::remove(src + "/link");
  SetMtime(src + "/a.txt", 1700000000000);
  ProcessRun dry = Run({"import", "--dry-run", src, url});
  ASSERT_EQ(dry.exit_code, 0) << dry.stderr_text;
  EXPECT_EQ(dry.stdout_text,
            "change-attributes /a.txt\nadd /new.txt\nchange /sub/b.txt\nremove /link\n");
  EXPECT_TRUE(Contains(dry.stderr_text,
                       "would import 1 added, 2 changed (1 only in mode or mtime), "
                       "1 removed, 4 unchanged; 12 bytes to append"))
      << dry.stderr_text;
  EXPECT_EQ(Version(url), version) << "nothing written";
  // The real import then does what the dry run said.
  ProcessRun real = Run({"import", src, url});
  EXPECT_TRUE(Contains(real.stderr_text,
                       "imported 1 added, 2 changed (1 only in mode or mtime), "
                       "1 removed, 4 unchanged; 12 bytes appended"))
      << real.stderr_text;
}

TEST_F(TransferCli, ImportRefusesNamesADriveCannotHoldAndSaysWhich) {
  std::string src = tmp_.Sub("src");
  fs::create_directories(src + "/dir\\with\\backslashes");
  WriteAll(src + "/dir\\with\\backslashes/inside.txt", "x");
  WriteAll(src + "/back\\slash.txt", "y");
  WriteAll(src + "/fine.txt", "z");
  fs::create_symlink("dir\\with", src + "/odd-link");  // drives store '/' for '\\' in targets
  ProcessRun run = Run({"import", src});
  EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "cannot import back\\x5cslash.txt")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "cannot import dir\\x5cwith\\x5cbackslashes"))
      << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "cannot import odd-link: a drive stores '\\' in a link"))
      << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "3 entries of the folder could not be imported"));
  std::string url = run.stdout_text.substr(0, run.stdout_text.find('\n'));
  EXPECT_EQ(Ok({"ls", "-R", url}), "fine.txt") << "the rest is imported";
}

TEST_F(TransferCli, ExportSkipsWhatTheFolderCannotHoldAndExportsTheRest) {
  std::string url = Ok({"create"});
  std::string long_name(300, 'n');  // longer than any local filesystem's 255-byte names
  Ok({"put", url + "/ok.txt", "-"}, "fine");
  Ok({"put", url + "/" + long_name, "-"}, "too long");
  Ok({"put", url + "/" + long_name + "-dir/a", "-"}, "a");
  Ok({"put", url + "/" + long_name + "-dir/b", "-"}, "b");
  Ok({"put", url + "/z/after.txt", "-"}, "after");
  {
    // A NUL in a name: only a hostile writer's raw trie can hold one.
    auto store = std::move(corestore::Corestore::OpenDirectory(Cores(store_))).value();
    drive::DriveOptions options;
    auto raw = *FromHex(url.substr(8, 64));
    crypto::PublicKey key;
    std::copy(raw.begin(), raw.end(), key.begin());
    options.key = key;
    auto d = std::move(drive::Drive::Open(*store, options)).value();
    Bytes stat = d->Lstat("/ok.txt")->Encode();
    auto trie = std::move(trie::Trie::Open(d->metadata_feed())).value();
    ASSERT_TRUE(trie->Put(std::string("nul\0name", 8), stat).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  std::string out = tmp_.Sub("out");
  ProcessRun run = Run({"export", url, out});
  EXPECT_EQ(run.exit_code, 1) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "skipped " + long_name + ": ")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "File name too long")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "skipped " + long_name + "-dir: ")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "skipped 2 entries below " + long_name + "-dir"));
  EXPECT_TRUE(Contains(run.stderr_text, "skipped nul\\x00name: ")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "NUL byte")) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "5 entries were not exported")) << run.stderr_text;
  // The rest is there, and nothing else: no temporary or empty leftovers.
  LocalTree tree = ReadLocalTree(out, false);
  std::vector<std::string> names;
  for (const auto& [path, node] : tree) names.push_back(path);
  EXPECT_EQ(names, (std::vector<std::string>{"ok.txt", "z", "z/after.txt"}));
  EXPECT_EQ(tree["z/after.txt"].content, "after");
}

// Walks never follow links: every link, to a folder, to '.', in a loop or dangling, is written
// as the link it is.
TEST_F(TransferCli, ExportWritesSymlinksAsLinks) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/real/f.txt", "-"}, "in real");
  Ok({"ln", "-s", "real", url + "/alias"});
  Ok({"ln", "-s", ".", url + "/dot"});
  Ok({"ln", "-s", "loop2", url + "/loop1"});
  Ok({"ln", "-s", "loop1", url + "/loop2"});
  Ok({"ln", "-s", "no/such/target", url + "/dangling"});
  Ok({"ln", "-s", "../real/f.txt", url + "/real/up"});
  std::string out = tmp_.Sub("out");
  Ok({"export", url, out});
  LocalTree tree = ReadLocalTree(out, false);
  for (auto& [path, node] : tree) node.mtime_ms = 0, node.perms = 0;
  LocalTree want = {
      {"alias", {'l', 0, 0, "real"}},
      {"dangling", {'l', 0, 0, "no/such/target"}},
      {"dot", {'l', 0, 0, "."}},
      {"loop1", {'l', 0, 0, "loop2"}},
      {"loop2", {'l', 0, 0, "loop1"}},
      {"real", {'d', 0, 0, ""}},
      {"real/f.txt", {'f', 0, 0, "in real"}},
      {"real/up", {'l', 0, 0, "../real/f.txt"}},
  };
  EXPECT_EQ(tree, want);
}

// Bytes the store's cores hold in their `data` files.
uint64_t StoredDataBytes(const std::string& store) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(store, ec)) {
    if (e.path().filename() == "data" && e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// The import said its URL first: an import killed midway (SIGKILL: nothing is cleaned up) is
// resumed by importing the same folder into that URL, and then the drive is the folder.
TEST_F(TransferCli, AKilledImportIsResumedIntoItsUrl) {
  std::string src = tmp_.Sub("src");
  uint64_t t = 1600000000000;
  for (int d = 0; d < 40; ++d) {
    std::string dir = src + "/d" + std::to_string(d);
    fs::create_directories(dir);
    for (int f = 0; f < 60; ++f) {
      std::string path = dir + "/f" + std::to_string(f);
      WriteAll(path, std::string(static_cast<size_t>(3000 + 97 * f), static_cast<char>('a' + d)));
      SetMtime(path, t += 1000);
    }
    std::string big = dir + "/big.bin";
    WriteAll(big, std::string(static_cast<size_t>(1 << 20) + static_cast<size_t>(d),
                              static_cast<char>(d)));
    SetMtime(big, t += 1000);
  }
  std::string url;
  {
    Background import({HYPERDRIVE_BINARY, "--storage", store_, "import", src},
                      tmp_.Sub("import.out"), tmp_.Sub("import.err"));
    // stderr names the drive first, before anything is written (stdout gets it at the end).
    ASSERT_TRUE(import.WaitForErr(" (if interrupted")) << import.err();
    std::string said = import.err();
    size_t at = said.find("hyper://");
    ASSERT_NE(at, std::string::npos) << said;
    url = said.substr(at, 8 + 64);
    // Midway: as soon as content is being stored (it is written in batches), well before the
    // 55 MB are.
    auto deadline = Background::Clock::now() + std::chrono::seconds(30);
    while (StoredDataBytes(store_) == 0 && Background::Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(import.Stop(SIGKILL), 128 + SIGKILL) << "the import ended before it was killed";
  }
  const uint64_t stored = StoredDataBytes(store_);
  ASSERT_GT(stored, 0u);
  ASSERT_LT(stored, 50u << 20) << "killed midway";
  ProcessRun resumed = Run({"import", src, url});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.stderr_text;
  std::string out = tmp_.Sub("out");
  Ok({"export", url, out});
  EXPECT_EQ(ReadLocalTree(out, false), ReadLocalTree(src, false));
}

// A replica in `replica_store` holding the drive's metadata (copied with its proofs, as a peer
// would send it) and none of its content.
void MakeMetadataOnlyReplica(const std::string& store, const std::string& url,
                             const std::string& replica_store) {
  auto from_store = std::move(corestore::Corestore::OpenDirectory(Cores(store))).value();
  auto to_store = std::move(corestore::Corestore::OpenDirectory(Cores(replica_store))).value();
  drive::DriveOptions options;
  auto raw = *FromHex(url.substr(8, 64));
  crypto::PublicKey key;
  std::copy(raw.begin(), raw.end(), key.begin());
  options.key = key;
  auto writer = std::move(drive::Drive::Open(*from_store, options)).value();
  auto replica = std::move(drive::Drive::Open(*to_store, options)).value();
  const auto& feed = writer->metadata_feed();
  for (uint64_t i = 0; i < feed->length(); i++) {
    auto block = feed->Get(BlockIndex(i));
    auto proof = feed->MakeProof(BlockIndex(i));
    ASSERT_TRUE(block.ok() && proof.ok());
    ASSERT_TRUE(replica->metadata_feed()->Put(BlockIndex(i), *block, *proof).ok());
  }
  replica.reset();
  writer.reset();
  ASSERT_TRUE(to_store->Close().ok());
  ASSERT_TRUE(from_store->Close().ok());
}

TEST_F(TransferCli, ContentNeverFetchedSaysSoAndExportSkipsIt) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/notes.txt", "-"}, std::string(200000, 'n'));
  Ok({"mkdir", url + "/empty"});
  Ok({"ln", "-s", "notes.txt", url + "/link"});
  std::string replica = tmp_.Sub("replica");
  MakeMetadataOnlyReplica(store_, url, replica);
  if (HasFatalFailure()) return;

  EXPECT_EQ(ExpectSuccess(Run({"ls", url}, "", replica), {"ls"}), "empty/\nlink\nnotes.txt");
  ProcessRun cat = Run({"cat", url + "/notes.txt"}, "", replica);
  EXPECT_EQ(cat.exit_code, 1);
  EXPECT_EQ(cat.stderr_text,
            "hyperdrive: NotFound: /notes.txt is not downloaded here; use --peer or the network\n");
  ProcessRun range = Run({"cat", url + "/notes.txt", "--start", "150000"}, "", replica);
  EXPECT_TRUE(Contains(range.stderr_text, "not downloaded here")) << range.stderr_text;

  // Export writes what it has (the folder, the link), names the file it lacks, exits 1, and
  // leaves no empty notes.txt behind.
  std::string out = tmp_.Sub("out");
  ProcessRun exported = Run({"export", url, out}, "", replica);
  EXPECT_EQ(exported.exit_code, 1);
  EXPECT_TRUE(Contains(exported.stderr_text,
                       "skipped notes.txt: NotFound: /notes.txt is not downloaded here"))
      << exported.stderr_text;
  std::vector<std::string> names;
  for (const auto& [path, node] : ReadLocalTree(out)) names.push_back(path);
  EXPECT_EQ(names, (std::vector<std::string>{"empty", "link"}));
}

TEST_F(TransferCli, ExportIntoAFolderThatIsNotEmptySaysSo) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/a.txt", "-"}, "from the drive");
  std::string out = tmp_.Sub("out");
  fs::create_directories(out);
  WriteAll(out + "/mine.txt", "kept");
  WriteAll(out + "/a.txt", "replaced");
  ProcessRun run = Run({"export", url, out});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_TRUE(Contains(run.stderr_text, "warning: " + out + " is not empty")) << run.stderr_text;
  EXPECT_EQ(ReadAll(out + "/mine.txt"), "kept");
  EXPECT_EQ(ReadAll(out + "/a.txt"), "from the drive");
  // An empty or new folder: no warning.
  ProcessRun fresh = Run({"export", url, tmp_.Sub("fresh")});
  EXPECT_EQ(fresh.stderr_text, "");
}

TEST_F(TransferCli, ExportThatFillsTheDiskLeavesNoPartialFile) {
  std::string small = tmp_.Sub("small");
  fs::create_directories(small);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=1m"), 0)
      << "mounting a small tmpfs needs root: " << strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  std::string url = Ok({"create"});
  Ok({"put", url + "/big.bin", "-"}, std::string(3 << 20, 'b'));
  WriteAll(small + "/old.txt", "here before");
  ProcessRun run = Run({"export", url, small});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(Contains(run.stderr_text, "NoSpace")) << run.stderr_text;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(small)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"old.txt"}) << "no partial big.bin, no temporary file";
}

}  // namespace
}  // namespace hyper::cli
