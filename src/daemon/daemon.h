// The daemon process's core: the drive host, the gRPC server on loopback, the sessions, and
// the files under its root (config.json with the token, the pid file, the log).
//
//   auto d = daemon::Daemon::Start({.root = {"/home/me/.hyperdrive"}}).value();
//   d->Wait();   // until Shutdown() (a signal handler calls it)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "command_service.h"
#include "hyper/swarm/swarm.h"
#include "hyper/util/status.h"
#include "root.h"

namespace hyper::daemon {

inline constexpr uint16_t kDefaultPort = 3101;

enum class LogLevel { kError, kWarn, kInfo, kDebug };
// "error", "warn", "info", "debug"; InvalidArgument otherwise.
Result<LogLevel> ParseLogLevel(const std::string& text);

struct DaemonOptions {
  Root root;
  // The gRPC port, on 127.0.0.1 only (0: any free port; the one taken is in config.json).
  uint16_t port = kDefaultPort;
  // The swarm; nullopt: no network.
  std::optional<swarm::SwarmOptions> network;
  bool announce = true;
  // How long a read waits for a block (or a drive's header) that must come from peers before it
  // fails (EIO through the FUSE mount, DEADLINE_EXCEEDED through the API): the host's fetch
  // timeout. 15 s, as the reference's FUSE read timeout.
  std::chrono::milliseconds read_timeout{15000};
  // Cores in memory (lost at exit); the root still holds config.json, the pid and the log.
  bool memory_only = false;
  LogLevel log_level = LogLevel::kInfo;
  // Mount the root drive there through FUSE (docs/fuse.md), and record it in the state
  // database so that the next start mounts it there again. nullopt: mount where the state
  // database says (a mountpoint recorded before), or nowhere when it says nothing.
  std::optional<std::string> mountpoint;
  // Where log lines go besides ROOT/daemon.log (the foreground daemon's stderr). May be empty.
  std::function<void(const std::string&)> echo;
  // The decoded trie nodes all open drives may keep cached together (trie::SetProcessNodeBudget;
  // about 1.6 KB each as measured by bench/daemon_soak.sh), so that the daemon's memory does not
  // grow with what its drives hold. Each drive alone would keep up to 131,072.
  size_t trie_node_budget = 16384;
  // An HTTP gateway on gateway_host:gateway_port (port 0: any free one) over the daemon's
  // drives (docs/gateway.md); nullopt: none.
  std::optional<uint16_t> gateway_port;
  std::string gateway_host = "127.0.0.1";
  // Runs a command that the command line of the root forwards (the CommandLine service); empty:
  // that service answers UNIMPLEMENTED.
  CommandRunner run_command;
};

class Daemon {
 public:
  // Creates the root (0700), locks and opens the store (Busy when another process holds it),
  // mounts the root drive (when a mountpoint is given or recorded), starts the network and the
  // gRPC server (Busy when the port is taken), then writes config.json (0600) and the pid file.
  // When it returns, the daemon answers.
  static Result<std::unique_ptr<Daemon>> Start(DaemonOptions options);
  // Unmounts the root drive, stops the server (calls in flight end within 2 s), the network and
  // the store; removes the pid file.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Blocks until Shutdown.
  void Wait();
  // May be called from any thread, more than once.
  void Shutdown();

  uint16_t port() const;
  std::string endpoint() const;
  // "http://HOST:PORT/" of the HTTP gateway; empty without one.
  std::string gateway_url() const;
  void Log(LogLevel level, const std::string& line);

  struct Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper::daemon
