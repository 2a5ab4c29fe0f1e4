// The `hyperdrive` command line: every command parsed and run, here or, when a daemon runs on
// the root and the command is one it runs, by that daemon (forward.h).
#pragma once

#include <string>
#include <vector>

namespace hyper::cli {

// Parses `args` (args[0] is the program) and runs the command. Returns the exit status: 0
// success, 1 error (one line on stderr), 2 bad usage. Output goes to the calling thread's
// Console (console.h).
int RunCommandLine(const std::vector<std::string>& args);

}  // namespace hyper::cli
