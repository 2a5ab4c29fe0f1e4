// The command line through the daemon (docs/daemon.md): while a daemon runs on the root, a
// command it can run is handed to it over its CommandLine service (daemon/command_service.h)
// and run there against its open store, with the same output, errors and exit status as
// without a daemon. This is both sides: the client's (ForwardCommand) and the daemon's
// (RunForwardedCommand).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "daemon/command_service.h"

namespace hyper::cli {

struct RunningDaemon {
  pid_t pid = 0;
  std::string endpoint;  // "host:port", from ROOT/config.json
  std::string token;
};

// The daemon running on the storage root `root`: its pid file names a live process and its
// config.json says where it listens (the environment's HYPERDRIVE_ENDPOINT, which may name
// another root's daemon, is not used here). nullopt otherwise.
std::optional<RunningDaemon> FindRunningDaemon(const std::string& root);

// Has the daemon run `args` (args[0] is the program; the command was parsed here already),
// sending this process's stdin along when `send_stdin`, and writes what it prints to stdout
// and stderr. Returns the command's exit status. Ctrl-C (SIGINT, SIGTERM) cancels the command
// in the daemon and then ends this process by that signal, as it would end a local command;
// a daemon that dies meanwhile is an error (exit 1), never a wait. A command that runs until
// stopped (`runs_until_stopped`: import --watch, export --follow) is instead asked to stop on
// the first signal, and its last output and exit code come back as from a local run; a second
// signal ends this process at once (and the command with the call).
int ForwardCommand(const RunningDaemon& daemon, const std::string& root,
                   const std::vector<std::string>& args, bool send_stdin,
                   bool runs_until_stopped = false);

// The daemon's side (DaemonOptions::run_command): runs the command against `host` with the
// client's descriptors; returns its exit status.
int RunForwardedCommand(service::Host& host, const daemon::CommandIo& io);

}  // namespace hyper::cli
