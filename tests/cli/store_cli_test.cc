// End to end: how the `hyperdrive` binary finds its store (--storage, HYPERDRIVE_STORAGE, HOME)
// and shares it between processes (readers beside a seed, one writer at a time).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

namespace fs = std::filesystem;
using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

// Runs the binary under `env` with the given environment changes ("NAME=value" sets, "-u NAME"
// unsets; every "-u" before the first "NAME=value"), in `cwd`; killed after 30 s.
ProcessRun RunWithEnv(const std::vector<std::string>& env, std::vector<std::string> args,
                      const std::string& cwd) {
  std::vector<std::string> argv = {"timeout", "-s", "KILL", "30", "env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(HYPERDRIVE_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = hyper::testing::RunProcess(argv, "", cwd);
  EXPECT_TRUE(run.ok()) << run.status().ToString();
  return run.ok() ? *run : ProcessRun{};
}

// `--storage ""` is bad usage: never a silent fall back to ~/.hyperdrive.
TEST(StoreDirectory, EmptyStorageFlagIsBadUsage) {
  TempDir tmp;
  std::string home = tmp.Sub("home");
  fs::create_directories(home);
  for (const auto& command : {"create", "drives", "import"}) {
    ProcessRun r = RunWithEnv({"-u", "HYPERDRIVE_STORAGE", "HOME=" + home},
                              {"--storage", "", command, "."}, tmp.path());
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("--storage: the storage root must not be empty"),
              std::string::npos)
        << r.stderr_text;
    EXPECT_TRUE(r.stdout_text.empty()) << r.stdout_text;
  }
  // `--storage=` (CLI11 then takes the next word as the value) is bad usage too.
  ProcessRun r = RunWithEnv({"-u", "HYPERDRIVE_STORAGE", "HOME=" + home}, {"--storage=", "create"},
                            tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_FALSE(fs::exists(home + "/.hyperdrive")) << "nothing created in HOME";
  EXPECT_TRUE(fs::is_empty(home));
}

// HYPERDRIVE_STORAGE set to the empty string counts as unset (documented): the store is the
// one under HOME, as when the variable is absent.
TEST(StoreDirectory, EmptyEnvironmentVariableMeansUnset) {
  TempDir tmp;
  std::string home = tmp.Sub("home");
  fs::create_directories(home);
  ProcessRun r = RunWithEnv({"HOME=" + home, "HYPERDRIVE_STORAGE="}, {"create"}, tmp.path());
  std::string url = ExpectSuccess(r, {"create"});
  EXPECT_TRUE(fs::exists(home + "/.hyperdrive/storage/cores/master_key"));
  r = RunWithEnv({"-u", "HYPERDRIVE_STORAGE", "HOME=" + home}, {"info", url}, tmp.path());
  EXPECT_EQ(r.exit_code, 0) << "the same store: " << r.stderr_text;
}

// Without --storage, HYPERDRIVE_STORAGE or HOME there is no store: a clear error, and no store
// made in the working directory.
TEST(StoreDirectory, NoHomeIsAnError) {
  TempDir tmp;
  for (const auto& env : std::vector<std::vector<std::string>>{
           {"-u", "HOME", "-u", "HYPERDRIVE_STORAGE"}, {"HOME=", "HYPERDRIVE_STORAGE="}}) {
    ProcessRun r = RunWithEnv(env, {"create"}, tmp.path());
    EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("no storage root"), std::string::npos) << r.stderr_text;
    EXPECT_TRUE(r.stdout_text.empty()) << r.stdout_text;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "no ./.hyperdrive";
}

// The storage root is the reference daemon's: a store laid out as hyperdrive-daemon lays it out
// (cores in ROOT/storage/cores, written here by Node corestore and hyperdrive) is read with
// `--storage ROOT`, and what we write lands there.
TEST(StoreDirectory, TheDaemonsLayoutIsReadFromItsRoot) {
  TempDir tmp;
  const std::string root = tmp.Sub("root");
  nlohmann::json ops = nlohmann::json::array(
      {{{"op", "writeFile"}, {"path", "/foo.txt"}, {"data", {{"text", "bar"}}}}});
  auto applied = hyper::testing::RunNode("drive_apply", {root + "/storage/cores"}, ops.dump());
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  const std::string url = "hyper://" + (*applied)["key"].get<std::string>();
  EXPECT_EQ(ExpectSuccess(RunCli(root, {"cat", url + "/foo.txt"}), {"cat"}), "bar");
  EXPECT_EQ(ExpectSuccess(RunCli(root, {"drives"}), {"drives"}), url);
  const std::string ours = ExpectSuccess(RunCli(root, {"create"}), {"create"});
  EXPECT_NE(ExpectSuccess(RunCli(root, {"drives"}), {"drives"}).find(ours), std::string::npos);
  EXPECT_EQ(Cores(root), root + "/storage/cores");
  for (const auto& e : fs::directory_iterator(root)) {
    EXPECT_TRUE(e.path().filename() == "storage") << "nothing else at the top: " << e.path();
  }
}

// A store the command line laid out before (directly in the --storage folder) is moved into
// ROOT/storage/cores on first use, said once on stderr, and everything in it still reads.
TEST(StoreDirectory, AStoreLaidOutBeforeIsMovedOnFirstUse) {
  TempDir tmp;
  const std::string root = tmp.Sub("root");
  std::string url;
  {
    auto store = corestore::Corestore::OpenDirectory(root);  // the old layout: the folder itself
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto d = drive::Drive::Open(**store, {});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_TRUE((*d)->WriteFile("/kept.txt", AsBytes("still here")).ok());
    url = "hyper://" + ToHex((*d)->key());
    d->reset();
    ASSERT_TRUE((*store)->Close().ok());
  }
  ProcessRun first = RunCli(root, {"cat", url + "/kept.txt"});  // a reader moves it too
  EXPECT_EQ(ExpectSuccess(first, {"cat"}), "still here");
  EXPECT_NE(first.stderr_text.find("moved the store laid out before in " + root + " into " +
                                   Cores(root) + " (2 cores and its master key)"),
            std::string::npos)
      << first.stderr_text;
  EXPECT_FALSE(fs::exists(root + "/master_key"));
  EXPECT_TRUE(fs::exists(Cores(root) + "/master_key"));
  ProcessRun second = RunCli(root, {"drives"});
  EXPECT_EQ(ExpectSuccess(second, {"drives"}), url);
  EXPECT_EQ(second.stderr_text, "") << "said once";
}

// The default before was ~/.hyperdrive/storage itself; it moves to ~/.hyperdrive/storage/cores.
TEST(StoreDirectory, TheOldDefaultStoreIsMovedOnFirstUse) {
  TempDir tmp;
  const std::string home = tmp.Sub("home");
  const std::string old_store = home + "/.hyperdrive/storage";
  std::string url;
  {
    auto store = corestore::Corestore::OpenDirectory(old_store);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto d = drive::Drive::Open(**store, {});
    ASSERT_TRUE(d.ok());
    url = "hyper://" + ToHex((*d)->key());
    d->reset();
    ASSERT_TRUE((*store)->Close().ok());
  }
  ProcessRun r = RunWithEnv({"-u", "HYPERDRIVE_STORAGE", "HOME=" + home}, {"drives"}, tmp.path());
  EXPECT_EQ(ExpectSuccess(r, {"drives"}), url);
  EXPECT_NE(r.stderr_text.find("into " + old_store + "/cores"), std::string::npos) << r.stderr_text;
  EXPECT_TRUE(fs::exists(old_store + "/cores/master_key"));
  EXPECT_FALSE(fs::exists(old_store + "/master_key"));
}

// Global options go before or after the subcommand, for every subcommand (nested ones too).
TEST(StoreDirectory, GlobalOptionsBeforeOrAfterTheSubcommand) {
  TempDir tmp;
  const std::string before = tmp.Sub("before");
  const std::string after = tmp.Sub("after");
  const std::string src = tmp.Sub("src");
  fs::create_directories(src);
  { std::ofstream(src + "/a.txt") << "alpha"; }
  auto run = [&](const std::string& root, std::vector<std::string> args, bool storage_after) {
    std::vector<std::string> argv = {HYPERDRIVE_BINARY};
    if (!storage_after) argv.insert(argv.end(), {"--storage", root});
    argv.insert(argv.end(), args.begin(), args.end());
    if (storage_after) argv.insert(argv.end(), {"--storage", root});
    auto r = hyper::testing::RunProcess(argv);
    EXPECT_TRUE(r.ok());
    return ExpectSuccess(r.ok() ? *r : ProcessRun{"", "", -1}, argv);
  };
  for (bool storage_after : {false, true}) {
    const std::string root = storage_after ? after : before;
    const std::string url = run(root, {"import", src}, storage_after);
    EXPECT_EQ(run(root, {"cat", url + "/a.txt"}, storage_after), "alpha");
    EXPECT_EQ(run(root, {"ls", url}, storage_after), "a.txt");
    EXPECT_EQ(run(root, {"drives"}, storage_after), url);
    const std::string core = run(root, {"core", "create"}, storage_after);
    EXPECT_NE(run(root, {"core", "list"}, storage_after).find(core), std::string::npos);
    run(root, {"gc", url}, storage_after);
    EXPECT_TRUE(fs::exists(Cores(root) + "/master_key")) << "the store is where --storage said";
  }
  // --help after a subcommand is the subcommand's help; --version anywhere.
  auto help = hyper::testing::RunProcess({HYPERDRIVE_BINARY, "import", "--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->exit_code, 0);
  EXPECT_NE(help->stdout_text.find("import"), std::string::npos);
  auto version = hyper::testing::RunProcess({HYPERDRIVE_BINARY, "drives", "--version"});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->exit_code, 0) << version->stderr_text;
  // An unknown option is still bad usage, wherever it is.
  auto bad = hyper::testing::RunProcess(
      {HYPERDRIVE_BINARY, "drives", "--storage", before, "--no-such-option"});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->exit_code, 2) << bad->stderr_text;
}

}  // namespace
}  // namespace hyper::cli
