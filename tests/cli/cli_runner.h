// Shared by the end-to-end tests of the `hyperdrive` binary.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/node_harness.h"

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

}  // namespace hyper::cli
