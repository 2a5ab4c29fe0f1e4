// End to end: a command whose output cannot be written exits 1 and says so, whatever the
// command (the drive `create` made exists, but its URL is lost: that is not a success).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/cli/cli_runner.h"
#include "tests/cli/local_tree.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

class ExitCodeCli : public CliTest {
 protected:
  // With stdout going to `stdout_to` when given.
  ProcessRun Run(std::vector<std::string> args, const std::string& stdout_to = "") {
    args.insert(args.begin(), {HYPERDRIVE_BINARY, "--storage", store_});
    if (!stdout_to.empty()) {
      // sh opens the file; exec keeps the binary's own exit code.
      args.insert(args.begin(), {"sh", "-c", "exec \"$0\" \"$@\" > " + stdout_to});
    }
    auto run = hyper::testing::RunProcess(args);
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : ProcessRun{};
  }
  std::string Ok(std::vector<std::string> args, const std::string& stdin_text = "") {
    return ExpectSuccess(RunCli(store_, args, stdin_text), args);
  }
};

TEST_F(ExitCodeCli, StdoutThatCannotBeWrittenIsAnError) {
  std::string url = Ok({"create"});
  Ok({"put", url + "/file.txt", "-"}, "content");
  std::string src = tmp_.Sub("src");
  std::filesystem::create_directories(src);
  WriteAll(src + "/a.txt", "a");
  std::string key = url.substr(std::string("hyper://").size());

  std::vector<std::vector<std::string>> commands = {
      {"create"},
      {"import", src},
      {"ls", url},
      {"ls", "-R", url},
      {"info", url, "--json"},
      {"info", url},
      {"drives"},
      {"cat", url + "/file.txt"},
      {"stat", url + "/file.txt", "--json"},
      {"log", url},
      {"diff", url, "--from", "1"},
      {"core", "list"},
      {"core", "info", key, "--json"},
      {"--help"},
      {"--version"},
      {"ls", "--help"},
  };
  for (const auto& args : commands) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    ProcessRun ok = Run(args);
    ASSERT_EQ(ok.exit_code, 0) << joined << ok.stderr_text;
    ASSERT_FALSE(ok.stdout_text.empty()) << joined << "prints something when it can";
    ProcessRun full = Run(args, "/dev/full");
    EXPECT_EQ(full.exit_code, 1) << joined << full.stderr_text;
    EXPECT_NE(full.stderr_text.find("writing to stdout"), std::string::npos)
        << joined << full.stderr_text;
  }
  // The drives made while stdout was full exist: the error said their URL was lost.
  size_t drives = 0;
  for (char c : Ok({"drives"})) drives += c == '\n';
  EXPECT_EQ(drives + 1, 5u) << "the first create, then two creates and two imports";
}

TEST_F(ExitCodeCli, ACommandThatFailedKeepsItsOwnErrorAndExitCode) {
  ProcessRun bad = Run({"ls", "hyper://not-a-key"}, "/dev/full");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.stderr_text.find("not a drive URL"), std::string::npos) << bad.stderr_text;
  ProcessRun usage = Run({"frobnicate"}, "/dev/full");
  EXPECT_EQ(usage.exit_code, 2) << usage.stderr_text;
}

}  // namespace
}  // namespace hyper::cli
