// The `hyperdrive` command line. Exit status: 0 success, 1 error (one line on stderr),
// 2 bad usage. Output that cannot be written (stdout on a full disk, closed, ...) is an error:
// a command whose output was lost never exits 0.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "core_commands.h"
#include "daemon_commands.h"
#include "dht_commands.h"
#include "drive_commands.h"
#include "fuse_commands.h"
#include "gateway_commands.h"
#include "gc_commands.h"
#include "net_commands.h"
#include "store.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"hyperdrive: share folders peer to peer, compatible with Hyperdrive v10"};
  app.set_version_flag("--version", "hyperdrive-cpp 0.1.0");
  app.require_subcommand(1);
  // Global options (--storage, --help, --version) are taken before or after the subcommand:
  // what a subcommand does not know goes up to its parent. Set before the subcommands are
  // added, which inherit it.
  app.fallthrough();
  std::string storage;
  app.add_option("--storage", storage,
                 "The storage root, as the Hyperdrive daemon's (default $HYPERDRIVE_STORAGE when "
                 "set and not empty, else ~/.hyperdrive): the cores are in DIR/storage/cores, "
                 "where a store laid out before directly in DIR or DIR/storage is moved on first "
                 "use; an empty DIR is bad usage. Reading commands share the store with each "
                 "other and with one seed or sync; other writers use it alone. Accepted before "
                 "or after the subcommand")
      ->check(CLI::Validator(hyper::cli::CheckStorageFlag, "DIR"));

  hyper::cli::Action action;
  hyper::cli::CoreArgs core_args;
  hyper::cli::AddCoreCommands(app, storage, core_args, &action);
  hyper::cli::DriveArgs drive_args;
  hyper::cli::AddDriveCommands(app, storage, drive_args, &action);
  hyper::cli::GcArgs gc_args;
  hyper::cli::AddGcCommands(app, storage, gc_args, &action);
  hyper::cli::NetArgs net_args;
  hyper::cli::AddNetCommands(app, storage, net_args, &action);
  hyper::cli::DhtArgs dht_args;
  hyper::cli::AddDhtCommands(app, dht_args, &action);
  hyper::cli::GatewayArgs gateway_args;
  hyper::cli::AddGatewayCommands(app, storage, gateway_args, &action);
  hyper::cli::DaemonArgs daemon_args;
  daemon_args.argv.assign(argv, argv + argc);
  hyper::cli::AddDaemonCommands(app, storage, daemon_args, &action);
  hyper::cli::FuseArgs fuse_args;
  hyper::cli::AddFuseCommands(app, storage, fuse_args, &action);

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

int main(int argc, char** argv) { return FinishStdout(Run(argc, argv)); }
