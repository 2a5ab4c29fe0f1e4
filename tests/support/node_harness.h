// Runs a script of the Node reference (tests/interop/scripts/<name>.js, with the pinned
// node_modules of tests/interop) and returns what it printed on stdout as JSON.
// A script that exits non-zero or prints something that is not JSON is an error, with its
// stderr in the message, so a failing test says why.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hyper/util/status.h"

namespace hyper::testing {

struct ProcessRun {
  std::string stdout_text;
  std::string stderr_text;
  int exit_code = 0;
};
using NodeRun = ProcessRun;

// Runs argv[0] (looked up in PATH) with `argv`, in `cwd` (empty: ours), feeding `stdin_text`,
// and collects both outputs and the exit code (128 + signal when killed).
Result<ProcessRun> RunProcess(const std::vector<std::string>& argv,
                              const std::string& stdin_text = "", const std::string& cwd = "");

// Runs `node scripts/<script>.js args...` in tests/interop. `stdin_text` is fed to its stdin.
Result<NodeRun> RunNodeRaw(const std::string& script, const std::vector<std::string>& args,
                           const std::string& stdin_text = "");

// As RunNodeRaw, and parses stdout as one JSON value. Non-zero exit is an error.
Result<nlohmann::json> RunNode(const std::string& script, const std::vector<std::string>& args,
                               const std::string& stdin_text = "");

// The folder holding package.json, node_modules and scripts/.
std::string InteropDir();

}  // namespace hyper::testing
