// The CommandLine service (rpc/command_line.proto, ours): the `hyperdrive` command line of the
// daemon's root hands it a command, which runs here on a thread of its own against the daemon's
// open store, its stdin, stdout and stderr led through pipes to and from the client's stream.
// The commands themselves are the command line's (src/cli), which the daemon does not link:
// the process that starts the daemon gives them as DaemonOptions::run_command.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/rpc/command_line.grpc.pb.h"
#include "hyper/service/host.h"

namespace hyper::daemon {

// What a command gets: its descriptors (pipes to the client; not to be closed by the command)
// and what the client said about its terminal and working directory.
struct CommandIo {
  std::vector<std::string> argv;
  std::string cwd;
  int in = -1, out = -1, err = -1;
  bool in_tty = false, out_tty = false, err_tty = false;
  // Set when the client went away (Ctrl-C, or its process died).
  const std::atomic<bool>* cancelled = nullptr;
  // Set when the client asked a command that runs until stopped to stop (CommandInput.interrupt).
  const std::atomic<bool>* interrupted = nullptr;
  // Readable (and stays so) once `cancelled` or `interrupted` is set: a command that waits for
  // events waits on it too (not to be read or closed by the command).
  int stop_fd = -1;
  // Records (or forgets, with nullopt) a drive's network configuration in the daemon's state,
  // so that it is applied again at the next start; Host::ConfigureNetwork applies it now.
  std::function<Status(const crypto::PublicKey&, const std::optional<service::NetworkConfig>&)>
      remember_network;
  // Where the daemon mounted its root drive (FUSE) and its key; unset when it mounted nothing.
  std::string mountpoint;
  std::optional<crypto::PublicKey> root_drive;
};

// Runs the command; returns its exit code.
using CommandRunner = std::function<int(service::Host& host, const CommandIo& io)>;

class CommandService final : public ::hyperdrive_cpp::CommandLine::Service {
 public:
  // An empty `runner` answers UNIMPLEMENTED.
  CommandService(service::Host& host, std::string token, CommandRunner runner,
                 decltype(CommandIo::remember_network) remember_network);

  // The daemon mounted its root drive `key` at `mountpoint`: commands get it (CommandIo).
  // Called before the service serves.
  void SetRootMount(std::string mountpoint, const crypto::PublicKey& key) {
    mountpoint_ = std::move(mountpoint);
    root_drive_ = key;
  }

  grpc::Status Run(grpc::ServerContext* ctx,
                   grpc::ServerReaderWriter<::hyperdrive_cpp::CommandOutput,
                                            ::hyperdrive_cpp::CommandInput>* stream) override;

 private:
  service::Host& host_;
  const std::string token_;
  const CommandRunner runner_;
  const decltype(CommandIo::remember_network) remember_network_;
  std::string mountpoint_;
  std::optional<crypto::PublicKey> root_drive_;
};

}  // namespace hyper::daemon
