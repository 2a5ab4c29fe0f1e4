#include "app.h"

#include <CLI/CLI.hpp>
#include <set>

#include "console.h"
#include "core_commands.h"
#include "daemon_commands.h"
#include "dht_commands.h"
#include "drive_commands.h"
#include "forward.h"
#include "fuse_commands.h"
#include "gateway_commands.h"
#include "gc_commands.h"
#include "net_commands.h"
#include "session.h"
#include "store.h"

namespace hyper::cli {

namespace {

// The commands the daemon runs for the command line of its root (docs/daemon.md).
bool RunsInDaemon(const std::string& name) {
  static const std::set<std::string> kNames = {
      "create", "import", "export", "ls",     "cat",   "stat",    "put",  "rm",
      "mkdir",  "rmdir",  "mv",     "ln",     "mount", "unmount", "info", "log",
      "diff",   "tag",    "tags",   "drives", "seed",  "unseed"};
  return kNames.count(name) != 0;
}

// The commands that open the store and need it to themselves (or that serve it): they cannot
// run while a daemon holds it.
bool NeedsStoreAlone(const std::string& name) {
  static const std::set<std::string> kNames = {"core", "repair", "gc", "clear", "sync", "serve"};
  return kNames.count(name) != 0;
}

}  // namespace

int RunCommandLine(const std::vector<std::string>& args) {
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
                 "other and with one seed or sync; other writers use it alone. While a daemon "
                 "runs on the root (`hyperdrive start`), the drive commands, seed and unseed "
                 "run in it, with the same output; core, repair, gc, clear, sync and serve "
                 "need it stopped. Accepted before or after the subcommand")
      ->check(CLI::Validator(CheckStorageFlag, "DIR"));

  Action action;
  CoreArgs core_args;
  AddCoreCommands(app, storage, core_args, &action);
  DriveArgs drive_args;
  AddDriveCommands(app, storage, drive_args, &action);
  GcArgs gc_args;
  AddGcCommands(app, storage, gc_args, &action);
  NetArgs net_args;
  AddNetCommands(app, storage, net_args, &action);
  DhtArgs dht_args;
  AddDhtCommands(app, dht_args, &action);
  GatewayArgs gateway_args;
  AddGatewayCommands(app, storage, gateway_args, &action);
  DaemonArgs daemon_args;
  daemon_args.argv = args;
  AddDaemonCommands(app, storage, daemon_args, &action);
  FuseArgs fuse_args;
  AddFuseCommands(app, storage, fuse_args, &action);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty()) reversed.pop_back();  // the program's name
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, Out(), Err());
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, Out(), Err());
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, Out(), Err());
  } catch (const CLI::ParseError& e) {
    app.exit(e, Out(), Err());
    return 2;
  }
  if (!action) return 2;
  const std::string name = app.get_subcommands().front()->get_name();
  Status status;
  if (ScopedDaemonHost::Current() != nullptr) {
    // The daemon's side of a forwarded command: only what the daemon runs.
    status = RunsInDaemon(name) ? action()
                                : Status::Unsupported("`" + name + "` does not run in the daemon");
  } else if (RunsInDaemon(name) || NeedsStoreAlone(name)) {
    const std::string root = ResolveStorageRoot(storage);
    auto daemon = root.empty() ? std::nullopt : FindRunningDaemon(root);
    if (daemon && RunsInDaemon(name)) {
      // put without a file (or with -) reads stdin: the client sends it along.
      const bool reads_stdin =
          name == "put" && (drive_args.other.empty() || drive_args.other == "-");
      const bool runs_until_stopped =
          (name == "import" && drive_args.watch) || (name == "export" && drive_args.follow);
      return ForwardCommand(*daemon, root, args, reads_stdin, runs_until_stopped);
    }
    status = daemon ? Status::Busy("a daemon runs on " + root + " (pid " +
                                   std::to_string(daemon->pid) + ") and holds the store: `" + name +
                                   "` needs it alone; `hyperdrive stop` first")
                    : action();
  } else {
    status = action();
  }
  if (!status.ok()) {
    Err() << "hyperdrive: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace hyper::cli
