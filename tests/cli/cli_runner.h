// Shared by the end-to-end tests of the `hyperdrive` binary: running it on a store, and the
// fixture most of them start from.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hyper/corestore/storage_root.h"
#include "tests/support/node_harness.h"
#include "tests/support/temp_dir.h"

namespace hyper::cli {

// The stdout of a run that must succeed, without its trailing newlines. A non-zero exit is a
// test failure that shows the command line and stderr.
inline std::string ExpectSuccess(const hyper::testing::ProcessRun& run,
                                 const std::vector<std::string>& args) {
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  EXPECT_EQ(run.exit_code, 0) << joined << "\n" << run.stderr_text;
  std::string out = run.stdout_text;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The corestore directory of the storage root `root` (what --storage names).
inline std::string Cores(const std::string& root) { return corestore::CoresDirectory(root); }

// `hyperdrive --storage <store> args...` with `stdin_text` on its stdin. A run that could not
// be started is a test failure (and exit code -1).
inline hyper::testing::ProcessRun RunCli(const std::string& store, std::vector<std::string> args,
                                         const std::string& stdin_text = "") {
  args.insert(args.begin(), {HYPERDRIVE_BINARY, "--storage", store});
  auto run = hyper::testing::RunProcess(args, stdin_text);
  EXPECT_TRUE(run.ok()) << run.status().ToString();
  return run.ok() ? *run : hyper::testing::ProcessRun{"", "", -1};
}

// A temporary folder with a store in it (store_), and the binary run on that store.
class CliTest : public ::testing::Test {
 protected:
  using ProcessRun = hyper::testing::ProcessRun;

  // On `store` when given, else on store_.
  ProcessRun Run(std::vector<std::string> args, const std::string& stdin_text = "",
                 const std::string& store = "") {
    return RunCli(store.empty() ? store_ : store, std::move(args), stdin_text);
  }
  // The stdout of a run that must succeed (see ExpectSuccess).
  std::string Ok(std::vector<std::string> args, const std::string& stdin_text = "") {
    return ExpectSuccess(Run(args, stdin_text), args);
  }
  // The parsed stdout of a run that must succeed and print JSON.
  nlohmann::json Json(std::vector<std::string> args) {
    auto parsed = nlohmann::json::parse(Ok(args), nullptr, false);
    EXPECT_FALSE(parsed.is_discarded());
    return parsed;
  }
  // The version `info --json` gives.
  uint64_t Version(const std::string& url) {
    return Json({"info", url, "--json"})["version"].get<uint64_t>();
  }

  hyper::testing::TempDir tmp_;
  std::string store_ = tmp_.Sub("store");
};

}  // namespace hyper::cli
