// End to end: the real `hyperdrive` binary on a real store directory.
#include <gtest/gtest.h>

#include <fstream>

#include "hyper/corestore/corestore.h"
#include "hyper/crypto/crypto.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {
namespace {

using hyper::testing::ProcessRun;
using hyper::testing::TempDir;

class CoreCli : public CliTest {
 protected:
  std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
};

TEST_F(CoreCli, CreateAppendCatInfoVerifyList) {
  ProcessRun created = Run({"core", "create"});
  ASSERT_EQ(created.exit_code, 0) << created.stderr_text;
  std::string key = Trim(created.stdout_text);
  ASSERT_EQ(key.size(), 64u);

  Bytes content(200 * 1024 + 7);
  crypto::RandomBytes(content);
  std::string file = tmp_.Sub("input.bin");
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(content.data()),
             static_cast<std::streamsize>(content.size()));
  ProcessRun appended = Run({"core", "append", key, file});
  ASSERT_EQ(appended.exit_code, 0) << appended.stderr_text;
  EXPECT_EQ(appended.stdout_text, "4 blocks, " + std::to_string(content.size()) + " bytes\n");
  EXPECT_EQ(appended.stderr_text, "") << "no progress bar when stderr is not a terminal";

  ProcessRun from_stdin = Run({"core", "append", "hyper://" + key, "-"}, "tail");
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.stderr_text;

  ProcessRun cat = Run({"core", "cat", key, "--end", "4"});
  ASSERT_EQ(cat.exit_code, 0) << cat.stderr_text;
  EXPECT_TRUE(cat.stdout_text == AsString(content)) << "cat gives back the appended bytes";
  ProcessRun one = Run({"core", "cat", key, "--start", "1", "--end", "2"});
  EXPECT_TRUE(one.stdout_text == AsString(ByteView(content).subspan(65536, 65536)));
  EXPECT_EQ(Run({"core", "cat", key, "--start", "4"}).stdout_text, "tail");

  ProcessRun info = Run({"core", "info", key, "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.stderr_text;
  auto json = nlohmann::json::parse(info.stdout_text);
  EXPECT_EQ(json["key"], key);
  EXPECT_EQ(json["length"], 5);
  EXPECT_EQ(json["byteLength"], content.size() + 4);
  EXPECT_EQ(json["writable"], true);
  crypto::PublicKey pk;
  auto raw = *FromHex(key);
  std::copy(raw.begin(), raw.end(), pk.begin());
  EXPECT_EQ(json["discoveryKey"], ToHex(crypto::DiscoveryKey(pk)));

  ProcessRun verify = Run({"core", "verify", key});
  EXPECT_EQ(verify.exit_code, 0) << verify.stderr_text;
  EXPECT_EQ(verify.stdout_text, "5 blocks valid, 0 invalid\n");
  EXPECT_EQ(Run({"core", "list"}).stdout_text, key + "\n");
}

TEST_F(CoreCli, NodeReadsWhatTheCliWrote) {
  ProcessRun created = Run({"core", "create"});
  std::string key = Trim(created.stdout_text);
  ASSERT_EQ(Run({"core", "append", key, "-"}, "hello from the cli").exit_code, 0);
  auto node = hyper::testing::RunNode("corestore_read", {Cores(store_), "[]", key});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ((*node)["others"][0]["blocks"], nlohmann::json({"hello from the cli"}));
  EXPECT_EQ((*node)["others"][0]["writable"], true);
}

TEST_F(CoreCli, ErrorsAreOneLineAndExitCodesAreRight) {
  std::string unknown = ToHex(crypto::RandomKeyPair().public_key);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"core", "info", "not-a-key"}, 1, "not a drive URL"},
      {{"core", "info", unknown}, 1, "no core"},
      {{"core", "info", unknown + "/path"}, 1, "by its key alone"},
      {{"core", "append", unknown, tmp_.Sub("missing")}, 1, "missing"},
      {{"core", "cat", unknown}, 1, "no core"},
      {{}, 2, ""},
      {{"core"}, 2, ""},
      {{"core", "info"}, 2, "key"},
      {{"core", "frobnicate"}, 2, ""},
      {{"--no-such-flag", "core", "list"}, 2, ""},
  };
  for (const Case& c : cases) {
    ProcessRun run = Run(c.args);
    std::string joined;
    for (auto& a : c.args) joined += a + " ";
    EXPECT_EQ(run.exit_code, c.exit_code) << joined << "\n" << run.stderr_text;
    EXPECT_NE(run.stderr_text.find(c.says), std::string::npos) << joined << run.stderr_text;
    if (c.exit_code == 1) {
      EXPECT_EQ(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n'), 1) << joined;
    }
  }
  ProcessRun created = Run({"core", "create"});
  std::string key = Trim(created.stdout_text);
  ProcessRun range = Run({"core", "cat", key, "--start", "3"});
  EXPECT_EQ(range.exit_code, 1);
  EXPECT_NE(range.stderr_text.find("outside"), std::string::npos);
  EXPECT_EQ(Run({"--help"}).exit_code, 0);
}

TEST_F(CoreCli, ASecondUserOfTheStoreGetsAClearError) {
  ASSERT_EQ(Run({"core", "create"}).exit_code, 0);
  auto holder = corestore::Corestore::OpenDirectory(Cores(store_));
  ASSERT_TRUE(holder.ok());
  ProcessRun run = Run({"core", "list"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.stderr_text.find("in use by another process"), std::string::npos)
      << run.stderr_text;
}

}  // namespace
}  // namespace hyper::cli
