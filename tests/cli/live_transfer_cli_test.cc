// import --watch and export --follow (issue 16, docs/cli.md): a watching import picks up a new
// file, a changed one and a deletion; a following export writes what another process puts into
// the drive and removes what it removes; Ctrl-C ends both with exit 0, in the foreground and
// through a running daemon.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/background.h"
#include "tests/cli/cli_runner.h"
#include "tests/cli/local_tree.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) n++;
  return n;
}

// Checks `done` until it holds, at most `limit` (the tests' processes write files: there is no
// event to wait on from here).
bool Eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// Names in `dir` left by an export's temporary files.
std::vector<std::string> Temporaries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".hyperdrive-export-", 0) == 0) out.push_back(name);
  }
  return out;
}

class LiveTransferCli : public CliTest {
 protected:
  void TearDown() override {
    if (daemon_) (void)RunCli(store_, {"stop"});
  }
  void StartDaemon() {
    const std::vector<std::string> args = {"start", "--port", "0", "--offline"};
    const std::string out = ExpectSuccess(RunCli(store_, args), args);
    ASSERT_NE(out.find("hyperdrive daemon started"), std::string::npos) << out;
    daemon_ = true;
  }
  std::unique_ptr<Background> Spawn(std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), {HYPERDRIVE_BINARY, "--storage", store_});
    return std::make_unique<Background>(args, tmp_.Sub(name + ".out"), tmp_.Sub(name + ".err"));
  }
  // Waits until the watching import printed its `n`th summary.
  static bool WaitForImports(Background& import, size_t n) {
    return Eventually([&] { return Count(import.err(), "hyperdrive: imported ") >= n; });
  }
  // The summary line of the `n`th import (1 is the first).
  static std::string Summary(const std::string& err, size_t n) {
    size_t at = std::string::npos;
    for (size_t i = 0; i < n; i++) at = err.find("hyperdrive: imported ", at + 1);
    if (at == std::string::npos) return "";
    return err.substr(at, err.find('\n', at) - at);
  }

  // The watching import of a folder: a new file, a changed one, a deletion, each seen and
  // imported at once; Ctrl-C then ends it with 0; the drive holds the folder's last state.
  void WatchImportFollowsTheFolder() {
    const std::string src = tmp_.Sub("src");
    fs::create_directories(src + "/sub");
    WriteAll(src + "/a.txt", "alpha\n");
    WriteAll(src + "/sub/b.txt", "bravo\n");
    auto import = Spawn({"import", src, "--watch"}, "import");
    ASSERT_TRUE(import->WaitForErr("for changes (Ctrl-C stops)")) << import->err();
    const std::string url = import->out().substr(0, import->out().find('\n'));
    ASSERT_EQ(url.rfind("hyper://", 0), 0u) << import->out();
    EXPECT_NE(Summary(import->err(), 1).find("3 added"), std::string::npos) << import->err();

    WriteAll(src + "/sub/new.txt", "new file\n");
    ASSERT_TRUE(WaitForImports(*import, 2)) << import->err();
    EXPECT_NE(Summary(import->err(), 2).find("imported 1 added, 0 changed, 0 removed"),
              std::string::npos)
        << import->err();

    WriteAll(src + "/a.txt", "alpha, longer now\n");
    ASSERT_TRUE(WaitForImports(*import, 3)) << import->err();
    EXPECT_NE(Summary(import->err(), 3).find("imported 0 added, 1 changed, 0 removed"),
              std::string::npos)
        << import->err();

    fs::remove(src + "/sub/b.txt");
    ASSERT_TRUE(WaitForImports(*import, 4)) << import->err();
    EXPECT_NE(Summary(import->err(), 4).find("imported 0 added, 0 changed, 1 removed"),
              std::string::npos)
        << import->err();

    if (daemon_) {
      // Through the daemon the drive is readable while the import watches.
      EXPECT_EQ(Ok({"cat", url + "/sub/new.txt"}), "new file");
    }
    EXPECT_EQ(import->Stop(SIGINT), 0) << import->err();
    EXPECT_NE(import->err().find("stopped watching"), std::string::npos) << import->err();
    // The URL once, on stdout, as a plain import prints it.
    EXPECT_EQ(import->out(), url + "\n");
    EXPECT_EQ(Ok({"cat", url + "/a.txt"}), "alpha, longer now");
    EXPECT_EQ(Ok({"cat", url + "/sub/new.txt"}), "new file");
    EXPECT_NE(Run({"cat", url + "/sub/b.txt"}).exit_code, 0);
  }

  bool daemon_ = false;
};

TEST_F(LiveTransferCli, WatchImportPicksUpANewAChangedAndADeletedFile) {
  WatchImportFollowsTheFolder();
}

TEST_F(LiveTransferCli, WatchImportThroughTheDaemonStreamsAndStopsOnCtrlC) {
  StartDaemon();
  WatchImportFollowsTheFolder();
}

TEST_F(LiveTransferCli, WatchImportRefusesDryRunAndAMissingFolder) {
  EXPECT_NE(Ok({"import", "--help"}).find("--watch"), std::string::npos);
  EXPECT_NE(Ok({"export", "--help"}).find("--follow"), std::string::npos);
  const std::string src = tmp_.Sub("src");
  fs::create_directories(src);
  auto dry = Run({"import", src, "--watch", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 1);
  EXPECT_NE(dry.stderr_text.find("not with --dry-run"), std::string::npos) << dry.stderr_text;
  auto missing = Run({"import", tmp_.Sub("nothing-here"), "--watch"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.stderr_text.find("nothing-here"), std::string::npos) << missing.stderr_text;
}

// A following export (run by the daemon) writes what another process puts into the drive after
// it started, and removes what that process removes; never a partial file under its name.
TEST_F(LiveTransferCli, FollowExportWritesWhatAnotherProcessPuts) {
  StartDaemon();
  const std::string url = Ok({"create"});
  const std::string file = tmp_.Sub("file.txt");
  WriteAll(file, "first\n");
  Ok({"put", url + "/first.txt", file});
  const std::string dest = tmp_.Sub("dest");
  auto follow = Spawn({"export", url, dest, "--follow"}, "export");
  ASSERT_TRUE(follow->WaitForErr("(Ctrl-C stops)")) << follow->err();
  EXPECT_EQ(ReadAll(dest + "/first.txt"), "first\n");

  const std::string big(3 * 1024 * 1024 + 7, 'q');
  WriteAll(file, big);
  Ok({"put", url + "/dir/big.bin", file});
  ASSERT_TRUE(Eventually([&] { return fs::exists(dest + "/dir/big.bin"); })) << follow->err();
  // Renamed into place whole: never seen shorter.
  EXPECT_EQ(fs::file_size(dest + "/dir/big.bin"), big.size());
  EXPECT_EQ(ReadAll(dest + "/dir/big.bin"), big);

  Ok({"rm", url + "/first.txt"});
  // A pass removes before it writes, and a pass may take the put's last version and the rm
  // together: it is whole once it prints its line.
  ASSERT_TRUE(Eventually([&] {
    return follow->err().find("written, 1 removed") != std::string::npos;
  })) << follow->err();
  EXPECT_FALSE(fs::exists(dest + "/first.txt"));
  EXPECT_TRUE(Temporaries(dest).empty()) << follow->err();

  EXPECT_EQ(follow->Stop(SIGINT), 0) << follow->err();
  EXPECT_NE(follow->err().find("stopped following"), std::string::npos) << follow->err();
  EXPECT_TRUE(Temporaries(dest).empty());
}

// In the foreground (no daemon on its store), a following export of a drive written elsewhere
// gets its new versions from the peers the swarm finds by its key: here a daemon on another
// root that seeds the drive on a DHT of the test's own, and takes a `put` after the export
// started.
TEST_F(LiveTransferCli, FollowExportInTheForegroundGetsNewVersionsFromPeers) {
  Background dht({HYPERDRIVE_BINARY, "dht-node", "--listen", "127.0.0.1:0"}, tmp_.Sub("dht.out"),
                 tmp_.Sub("dht.err"));
  ASSERT_TRUE(dht.WaitFor("dht-node listening on 127.0.0.1:")) << dht.err();
  std::string boot = dht.out();
  boot = boot.substr(boot.find("listening on ") + 13);
  boot = boot.substr(0, boot.find('\n'));
  // The writer: a daemon on store_ that seeds the drive.
  const std::vector<std::string> start = {"start", "--port",       "0", "--bootstrap",
                                          boot,    "--swarm-port", "0"};
  ASSERT_NE(ExpectSuccess(RunCli(store_, start), start).find("hyperdrive daemon started"),
            std::string::npos);
  daemon_ = true;
  const std::string url = Ok({"create"});
  const std::string file = tmp_.Sub("file.txt");
  WriteAll(file, "one\n");
  Ok({"put", url + "/one.txt", file});
  Ok({"seed", url});

  const std::string reader = tmp_.Sub("reader");
  const std::string dest = tmp_.Sub("dest");
  Background follow({HYPERDRIVE_BINARY, "--storage", reader, "export", url, dest, "--follow",
                     "--bootstrap", boot},
                    tmp_.Sub("follow.out"), tmp_.Sub("follow.err"));
  ASSERT_TRUE(follow.WaitForErr("(Ctrl-C stops)", std::chrono::seconds(20))) << follow.err();
  EXPECT_EQ(ReadAll(dest + "/one.txt"), "one\n");

  WriteAll(file, "two\n");
  Ok({"put", url + "/two.txt", file});
  ASSERT_TRUE(Eventually([&] { return ReadAll(dest + "/two.txt") == "two\n"; })) << follow.err();
  EXPECT_NE(follow.err().find(": 1 written, 0 removed"), std::string::npos) << follow.err();
  EXPECT_EQ(follow.Stop(SIGINT), 0) << follow.err();
  EXPECT_NE(follow.err().find("stopped following"), std::string::npos) << follow.err();
}

TEST_F(LiveTransferCli, FollowRefusesAVersionedUrl) {
  const std::string url = Ok({"create"});
  auto run = Run({"export", url.substr(0, url.size()) + "+1", tmp_.Sub("d"), "--follow"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.stderr_text.find("must not name a version"), std::string::npos) << run.stderr_text;
}

}  // namespace
}  // namespace hyper::cli
