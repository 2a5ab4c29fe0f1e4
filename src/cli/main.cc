// The `hyperdrive` command line.
#include <CLI/CLI.hpp>
#include <iostream>

#include "hyper/crypto/crypto.h"

int main(int argc, char** argv) {
  CLI::App app{"hyperdrive: share folders peer to peer, compatible with Hyperdrive v10"};
  app.set_version_flag("--version", "hyperdrive-cpp 0.1.0");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
