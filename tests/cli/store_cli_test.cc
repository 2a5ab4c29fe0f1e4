// End to end: how the `hyperdrive` binary finds its store (--storage, HYPERDRIVE_STORAGE, HOME)
// and shares it between processes (readers beside a seed, one writer at a time).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

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

// `--storage ""` is bad usage: never a silent fall back to ~/.hyperdrive/storage.
TEST(StoreDirectory, EmptyStorageFlagIsBadUsage) {
  TempDir tmp;
  std::string home = tmp.Sub("home");
  fs::create_directories(home);
  for (const auto& command : {"create", "drives", "import"}) {
    ProcessRun r =
        RunWithEnv({"-u", "HYPERDRIVE_STORAGE", "HOME=" + home}, {"--storage", "", command, "."},
                   tmp.path());
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("--storage: the store directory must not be empty"),
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
  EXPECT_TRUE(fs::exists(home + "/.hyperdrive/storage/master_key"));
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
    EXPECT_NE(r.stderr_text.find("no store directory"), std::string::npos) << r.stderr_text;
    EXPECT_TRUE(r.stdout_text.empty()) << r.stdout_text;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "no ./.hyperdrive";
}

}  // namespace
}  // namespace hyper::cli
