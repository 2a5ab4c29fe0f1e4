// The `hyperdrive` command line. Exit status: 0 success, 1 error (one line on stderr),
// 2 bad usage. Output that cannot be written (stdout on a full disk, closed, ...) is an error:
// a command whose output was lost never exits 0.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "app.h"

namespace {

// Flushes stdout (std::cout writes through it: it is synced with stdio) and reports a write that
// failed at any time during the run: a lost URL or listing must not look like success. Returns
// the exit code.
int FinishStdout(int code) {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = flushed ? 0 : errno;  // a write that failed earlier left no errno behind
  std::cout.flush();
  if (flushed && std::ferror(stdout) == 0 && !std::cout.fail()) return code;
  if (code == 0) {
    // The command did its work; only its output is lost. Say so (the one line on stderr).
    std::fprintf(stderr, "hyperdrive: IOError: writing to stdout failed%s%s: the output is lost\n",
                 err != 0 ? ": " : "", err != 0 ? std::strerror(err) : "");
  }
  return code == 0 ? 1 : code;
}

}  // namespace

int main(int argc, char** argv) {
  return FinishStdout(hyper::cli::RunCommandLine(std::vector<std::string>(argv, argv + argc)));
}
