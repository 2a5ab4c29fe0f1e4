#include "daemon_commands.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon/daemon.h"
#include "discovery.h"
#include "forward.h"
#include "hyper/client/client.h"
#include "hyper/daemon/state_db.h"
#include "hyper/fuse/mount.h"
#include "net_commands.h"
#include "number_options.h"
#include "progress.h"
#include "stop_signal.h"
#include "store.h"

namespace hyper::cli {

namespace {

constexpr char kReadyFdVariable[] = "HYPERDRIVE_READY_FD";
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(15);

Result<std::string> RootOrError(const std::string& flag) {
  // --storage names the root (~/.hyperdrive by default), as for every command.
  std::string root = ResolveStorageRoot(flag);
  if (root.empty()) {
    return Status::InvalidArgument(
        "no daemon root: HOME is not set; give --storage DIR or set HYPERDRIVE_STORAGE");
  }
  return root;
}

// The pid in ROOT/daemon.pid when that process is alive.
std::optional<pid_t> RunningPid(const daemon::Root& root) {
  std::ifstream in(root.pid_path());
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::string LogTail(const daemon::Root& root, size_t lines) {
  std::ifstream in(root.log_path());
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); i++) {
    out += "  " + all[i] + "\n";
  }
  return out;
}

Result<daemon::DaemonOptions> OptionsOf(const std::string& root, const DaemonArgs& a) {
  daemon::DaemonOptions o;
  o.root = daemon::Root{root};
  o.port = a.port;
  o.memory_only = a.memory_only;
  o.announce = !a.no_announce;
  ASSIGN_OR_RETURN(o.log_level, daemon::ParseLogLevel(a.log_level));
  o.read_timeout = std::chrono::milliseconds(
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(a.read_timeout * 1000))));
  if (!a.mountpoint.empty()) {
    std::error_code ec;
    o.mountpoint = std::filesystem::absolute(a.mountpoint, ec).lexically_normal().string();
  }
  if (!a.gateway.empty()) {
    // PORT alone: this machine only (127.0.0.1).
    const bool port_only = a.gateway.find(':') == std::string::npos;
    ASSIGN_OR_RETURN(PeerAddress listen,
                     ParsePeerAddress(port_only ? "127.0.0.1:" + a.gateway : a.gateway,
                                      /*allow_zero=*/true));
    o.gateway_host = listen.host;
    o.gateway_port = listen.port;
  }
  if (!a.discovery.offline) {
    ASSIGN_OR_RETURN(swarm::SwarmOptions so, SwarmOptionsFor(a.discovery, /*listen=*/true));
    so.host = "0.0.0.0";
    if (a.swarm_port) so.port = *a.swarm_port;
    o.network = so;
  }
  return o;
}

// Tells the `start` that spawned us how the start went (one line), when it is waiting.
void TellStarter(const std::string& line) {
  const char* fd_text = std::getenv(kReadyFdVariable);
  if (fd_text == nullptr) return;
  const int fd = std::atoi(fd_text);
  ::unsetenv(kReadyFdVariable);
  if (fd <= 2) return;
  const std::string text = line + "\n";
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

Status RunForeground(const std::string& root, const DaemonArgs& a) {
  ASSIGN_OR_RETURN(daemon::DaemonOptions o, OptionsOf(root, a));
  if (a.foreground_echo) {
    o.echo = [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
  }
  o.run_command = RunForwardedCommand;  // the command line of the root, run in the daemon
  StopSignal stop;
  auto d = daemon::Daemon::Start(o);
  if (!d.ok()) {
    TellStarter("error " + d.status().ToString());
    return d.status();
  }
  daemon::Daemon* running = d->get();
  stop.OnStop([running] { running->Shutdown(); });
  TellStarter("ok " + running->endpoint());
  std::printf("hyperdrive daemon listening on %s (root %s)\n", running->endpoint().c_str(),
              root.c_str());
  if (!running->gateway_url().empty()) {
    std::printf("HTTP gateway on %s\n", running->gateway_url().c_str());
  }
  std::fflush(stdout);
  running->Wait();
  d->reset();
  return Status::Ok();
}

// Starts `hyperdrive start --foreground ...` in a session of its own, its output appended to
// the log, and waits for its first word: ready, or why not.
Status RunBackground(const std::string& root, const std::vector<std::string>& argv) {
  const daemon::Root r{root};
  if (auto pid = RunningPid(r)) {
    return Status::Exists("a daemon already runs on " + root + " (pid " + std::to_string(*pid) +
                          "); `hyperdrive stop` first");
  }
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Status::IOError("creating " + root + ": " + ec.message());
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  const pid_t child = ::fork();
  if (child < 0) return Status::FromErrno(errno, "fork");
  if (child == 0) {
    ::close(ready[0]);
    ::setsid();
    const int log = ::open(r.log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int null = ::open("/dev/null", O_RDONLY);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    if (null >= 0) ::dup2(null, 0);
    // The write end survives exec (only it).
    const int fd = ::dup(ready[1]);
    ::setenv(kReadyFdVariable, std::to_string(fd).c_str(), 1);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    ::execv("/proc/self/exe", args.data());
    std::fprintf(stderr, "hyperdrive: exec failed: %s\n", std::strerror(errno));
    ::_exit(127);
  }
  ::close(ready[1]);
  std::string answer;
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (answer.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{ready[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    char buf[512];
    const ssize_t got = ::read(ready[0], buf, sizeof(buf));
    if (got <= 0) break;  // the daemon exited without a word
    answer.append(buf, static_cast<size_t>(got));
  }
  ::close(ready[0]);
  if (answer.rfind("ok ", 0) == 0) {
    std::printf("hyperdrive daemon started (pid %d), listening on %s\n", static_cast<int>(child),
                answer.substr(3, answer.find('\n') - 3).c_str());
    std::printf("root %s; log %s\n", root.c_str(), r.log_path().c_str());
    if (auto config = daemon::ReadClientConfig(r); config.ok() && !config->gateway.empty()) {
      std::printf("HTTP gateway on %s\n", config->gateway.c_str());
    }
    return Status::Ok();
  }
  int status = 0;
  if (answer.rfind("error ", 0) == 0) {
    (void)::waitpid(child, &status, 0);  // it exits right after saying why
    return Status::IOError("the daemon could not start: " +
                           answer.substr(6, answer.find('\n') - 6));
  }
  if (::waitpid(child, &status, WNOHANG) == 0) {
    // No answer in time and still running: do not leave it half started.
    ::kill(child, SIGTERM);
    (void)::waitpid(child, &status, 0);
    return Status::Timeout("the daemon did not become ready within " +
                           std::to_string(kStartTimeout.count()) + " s; its log (" + r.log_path() +
                           ") ends with:\n" + LogTail(r, 10));
  }
  return Status::IOError("the daemon exited while starting; its log (" + r.log_path() +
                         ") ends with:\n" + LogTail(r, 10));
}

Status Start(const std::string& storage, const DaemonArgs& a) {
  ASSIGN_OR_RETURN(std::string root, RootOrError(storage));
  // Options are checked here, before anything is spawned.
  RETURN_IF_ERROR(OptionsOf(root, a).status());
  if (a.foreground) return RunForeground(root, a);
  std::vector<std::string> argv = a.argv;
  argv.emplace_back("--foreground-child");
  return RunBackground(root, argv);
}

Status Stop(const std::string& storage) {
  ASSIGN_OR_RETURN(std::string root, RootOrError(storage));
  const daemon::Root r{root};
  auto pid = RunningPid(r);
  if (!pid) return Status::NotFound("no daemon runs on " + root);
  // A pidfd says when it exits, without polling (Linux 5.3 and later).
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0));
  if (::kill(*pid, SIGTERM) != 0) {
    if (pidfd >= 0) ::close(pidfd);
    return Status::FromErrno(errno, "signalling the daemon (pid " + std::to_string(*pid) + ")");
  }
  bool gone = false;
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    gone = ::poll(&p, 1, static_cast<int>(kStopTimeout.count() * 1000)) == 1;
    ::close(pidfd);
  } else {
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    while (!(gone = ::kill(*pid, 0) != 0) && std::chrono::steady_clock::now() < deadline) {
      ::usleep(50 * 1000);
    }
  }
  if (!gone) {
    return Status::Timeout("the daemon (pid " + std::to_string(*pid) + ") did not stop within " +
                           std::to_string(kStopTimeout.count()) + " s");
  }
  std::printf("hyperdrive daemon stopped (pid %d)\n", static_cast<int>(*pid));
  return Status::Ok();
}

Status PrintStatus(const std::string& storage) {
  ASSIGN_OR_RETURN(std::string root, RootOrError(storage));
  auto address = client::FindDaemon(root);
  if (!address.ok() || !RunningPid(daemon::Root{root})) {
    if (!std::getenv("HYPERDRIVE_ENDPOINT")) {
      return Status::NotFound("no daemon runs on " + root + " (`hyperdrive start`)");
    }
  }
  if (!address.ok()) return address.status();
  ASSIGN_OR_RETURN(auto c, client::DaemonClient::Connect(*address));
  ASSIGN_OR_RETURN(client::DaemonStatus st, c->GetStatus());
  std::printf("running: %s\n", st.daemon_version.c_str());
  std::printf("endpoint: %s\n", address->endpoint.c_str());
  if (auto config = daemon::ReadClientConfig(daemon::Root{root});
      config.ok() && !config->gateway.empty()) {
    std::printf("gateway: %s\n", config->gateway.c_str());
  }
  if (auto pid = RunningPid(daemon::Root{root})) std::printf("pid: %d\n", static_cast<int>(*pid));
  std::printf("root: %s\n", root.c_str());
  std::printf("uptime: %llu s\n", static_cast<unsigned long long>(st.uptime_ms / 1000));
  std::printf("noise key: %s\n", ToHex(st.noise_key).c_str());
  std::printf("api version: %llu\n", static_cast<unsigned long long>(st.api_version));
  std::printf("fuse: %s\n", st.fuse_configured  ? "the root drive is mounted"
                            : st.fuse_available ? "available, nothing mounted"
                                                : "not available");
  return Status::Ok();
}

// One core's counters: "3/3 blocks of 1.2 KiB, 1 peer, up 0 B, down 0 B".
std::string CountersText(const client::CoreCounters& c) {
  return std::to_string(c.downloaded_blocks) + "/" + std::to_string(c.total_blocks) +
         " blocks of " + Progress::FormatBytes(static_cast<double>(c.total_bytes)) + ", " +
         std::to_string(c.peers) + (c.peers == 1 ? " peer" : " peers") + ", up " +
         Progress::FormatBytes(static_cast<double>(c.uploaded_bytes)) + ", down " +
         Progress::FormatBytes(static_cast<double>(c.downloaded_bytes));
}

void PrintDriveStats(const std::vector<client::MountCounters>& mounts) {
  if (mounts.empty()) return;
  std::printf("hyper://%s\n", ToHex(mounts.front().metadata.key).c_str());
  for (const auto& m : mounts) {
    std::printf("  %s\n    metadata: %s\n", m.path.c_str(), CountersText(m.metadata).c_str());
    if (m.content) {
      std::printf("    content:  %s\n", CountersText(*m.content).c_str());
    } else {
      std::printf("    content:  not known yet (the drive's header is not here)\n");
    }
  }
}

// The counters of one drive (and its mounts), or of every drive the daemon has open, from the
// running daemon of the root.
Status PrintStats(const std::string& storage, const std::string& url) {
  std::optional<HyperUrl> target;
  if (!url.empty()) {
    ASSIGN_OR_RETURN(HyperUrl u, ParseHyperUrl(url));
    target = u;
  }
  ASSIGN_OR_RETURN(std::string root, RootOrError(storage));
  auto address = client::FindDaemon(root);
  if (!address.ok() || !RunningPid(daemon::Root{root})) {
    if (!std::getenv("HYPERDRIVE_ENDPOINT")) {
      return Status::NotFound("no daemon runs on " + root +
                              " (stats are the running daemon's: `hyperdrive start`)");
    }
  }
  if (!address.ok()) return address.status();
  ASSIGN_OR_RETURN(auto c, client::DaemonClient::Connect(*address));
  if (target) {
    std::array<uint8_t, 32> key{};
    std::copy(target->key.begin(), target->key.end(), key.begin());
    ASSIGN_OR_RETURN(auto drive, c->GetDrive(key));
    ASSIGN_OR_RETURN(auto mounts, drive->Stats(/*recursive=*/true));
    PrintDriveStats(mounts);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto all, c->AllStats());
  if (all.empty()) std::printf("no drive is open in the daemon\n");
  for (const auto& d : all) PrintDriveStats(d);
  return Status::Ok();
}

// Detaches the root drive's mount (DIR, or the mountpoint the state database recorded), as a
// daemon that died leaves it: every access says "Transport endpoint is not connected".
Status ForceUnmount(const std::string& storage, const std::string& dir) {
  ASSIGN_OR_RETURN(std::string root, RootOrError(storage));
  std::string mountpoint = dir;
  if (mountpoint.empty()) {
    auto state = daemon::StateDb::Open(daemon::Root{root}.db_dir());
    if (!state.ok()) {
      if (state.status().code() == Code::kBusy) {
        return Status::Busy("a daemon runs on " + root +
                            " and holds its mount; `hyperdrive stop` unmounts it (or give the "
                            "directory to detach)");
      }
      return state.status();
    }
    ASSIGN_OR_RETURN(auto record, (*state)->RootDrive());
    if (!record || record->mountpoint.empty()) {
      return Status::NotFound("no mountpoint is recorded in " + root +
                              "; give the directory: hyperdrive force-unmount DIR");
    }
    mountpoint = record->mountpoint;
  }
  RETURN_IF_ERROR(fuse::ForceUnmount(mountpoint));
  std::printf("unmounted %s\n", mountpoint.c_str());
  return Status::Ok();
}

}  // namespace

std::optional<pid_t> DaemonPid(const std::string& root) { return RunningPid(daemon::Root{root}); }

void AddDaemonCommands(CLI::App& app, const std::string& storage, DaemonArgs& a, Action* action) {
  CLI::App* start = app.add_subcommand(
      "start",
      "Start the daemon on the root (--storage, default ~/.hyperdrive): it keeps drives online "
      "and serves the gRPC API on 127.0.0.1 (config.json in the root holds its endpoint and "
      "token, mode 0600). Returns once the daemon answers, or says why it could not start");
  start->add_flag("--foreground", a.foreground,
                  "Run in this process (log lines on stderr too) until SIGINT/SIGTERM");
  start->add_flag("--foreground-child", a.foreground_child)->group("");
  start->add_option("--port", a.port, "The gRPC port on 127.0.0.1 (default 3101; 0: any)");
  start->add_option("--swarm-port", a.swarm_port,
                    "The port of the swarm's UDP and TCP sockets (default 49737, else the next "
                    "two, else any; 0: any)");
  start->add_flag("--memory-only", a.memory_only,
                  "Keep the cores in memory: nothing of the drives is written to disk");
  start->add_flag("--no-announce", a.no_announce,
                  "Never announce drives on the DHT (lookups still run)");
  start->add_option("--log-level", a.log_level, "error, warn, info (default) or debug");
  start->add_option("--mountpoint", a.mountpoint,
                    "Mount the root drive there, read-write, through FUSE (fusermount3: no sudo), "
                    "and again there at every later start (recorded in the root); without it, "
                    "the daemon mounts only where a start recorded before");
  AddSecondsOption(start, "--read-timeout", a.read_timeout,
                   "Seconds a read waits for a block (or a drive's header) that must come from "
                   "peers: past it the read fails (EIO through the FUSE mount, "
                   "DEADLINE_EXCEEDED through the API) instead of waiting on (default 15, as the "
                   "reference)");
  start
      ->add_option("--gateway", a.gateway,
                   "Also serve the daemon's drives over HTTP (the gateway of `hyperdrive serve`, "
                   "docs/gateway.md) on PORT of 127.0.0.1, or on HOST:PORT when another address "
                   "is wanted (port 0: any free one; the URL is printed and kept in config.json)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            const bool port_only = v.find(':') == std::string::npos;
            auto p = ParsePeerAddress(port_only ? "127.0.0.1:" + v : v, /*allow_zero=*/true);
            return p.ok() ? "" : p.status().message();
          },
          "[HOST:]PORT"));
  AddDiscoveryOptions(start, a.discovery);
  start->callback([&storage, &a, action] {
    a.foreground = a.foreground || a.foreground_child;
    a.foreground_echo = !a.foreground_child;
    *action = [&storage, &a] { return Start(storage, a); };
  });

  CLI::App* stop = app.add_subcommand("stop", "Stop the daemon of the root (--storage)");
  stop->callback([&storage, action] { *action = [&storage] { return Stop(storage); }; });

  CLI::App* unmount = app.add_subcommand(
      "force-unmount",
      "Detach (lazily, without sudo) the FUSE mount of the root drive left by a daemon that "
      "died: DIR, or the mountpoint recorded in the root (--storage)");
  unmount->add_option("dir", a.unmount_mountpoint, "The mountpoint (default: the recorded one)");
  unmount->callback([&storage, &a, action] {
    *action = [&storage, &a] { return ForceUnmount(storage, a.unmount_mountpoint); };
  });

  CLI::App* status = app.add_subcommand(
      "status", "Whether the daemon of the root (--storage) runs, and its endpoint and identity");
  status->callback([&storage, action] { *action = [&storage] { return PrintStatus(storage); }; });

  CLI::App* stats = app.add_subcommand(
      "stats",
      "Counters from the running daemon of the root (--storage): for each drive it has open (or "
      "the one URL names, with its mounts), blocks held of each core's length, its size, peers, "
      "and bytes up and down since the daemon started");
  stats->add_option("url", a.stats_url, "hyper://KEY of one drive (default: every open drive)");
  stats->callback([&storage, &a, action] {
    *action = [&storage, &a] { return PrintStats(storage, a.stats_url); };
  });
}

}  // namespace hyper::cli
