// The `hyperdrive` command line. Exit status: 0 success, 1 error (one line on stderr),
// 2 bad usage.
#include <CLI/CLI.hpp>
#include <iostream>

#include "core_commands.h"
#include "drive_commands.h"
#include "net_commands.h"
#include "store.h"

int main(int argc, char** argv) {
  CLI::App app{"hyperdrive: share folders peer to peer, compatible with Hyperdrive v10"};
  app.set_version_flag("--version", "hyperdrive-cpp 0.1.0");
  app.require_subcommand(1);
  std::string storage;
  app.add_option("--storage", storage,
                 "The store directory (default $HYPERDRIVE_STORAGE or ~/.hyperdrive/storage)");

  hyper::cli::Action action;
  hyper::cli::CoreArgs core_args;
  hyper::cli::AddCoreCommands(app, storage, core_args, &action);
  hyper::cli::DriveArgs drive_args;
  hyper::cli::AddDriveCommands(app, storage, drive_args, &action);
  hyper::cli::NetArgs net_args;
  hyper::cli::AddNetCommands(app, storage, net_args, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!action) return 2;
  hyper::Status status = action();
  if (!status.ok()) {
    std::cerr << "hyperdrive: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
