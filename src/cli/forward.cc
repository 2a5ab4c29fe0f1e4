#include "forward.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "app.h"
#include "console.h"
#include "daemon/root.h"
#include "daemon_commands.h"
#include "file_stream.h"
#include "session.h"
#include "stop_signal.h"

namespace hyper::cli {

namespace {

using ::hyperdrive_cpp::CommandInput;
using ::hyperdrive_cpp::CommandOutput;

constexpr auto kConnectTimeout = std::chrono::seconds(5);
// A daemon that stops answering (stopped, or hung) without closing its socket is noticed by
// HTTP/2 pings: one after this much time without a frame from it, and the call ends with
// UNAVAILABLE when no answer comes within the same time. The daemon accepts pings this often
// (src/daemon/daemon.cc).
constexpr int kKeepaliveMs = 10'000;
constexpr size_t kStdinChunk = 1 << 20;

std::string WorkingDirectory() {
  std::string buf(4096, '\0');
  while (::getcwd(buf.data(), buf.size()) == nullptr) {
    if (errno != ERANGE) return "";
    buf.resize(buf.size() * 2);
  }
  return buf.c_str();
}

}  // namespace

std::optional<RunningDaemon> FindRunningDaemon(const std::string& root) {
  auto pid = DaemonPid(root);
  if (!pid) return std::nullopt;
  std::ifstream in(daemon::Root{root}.config_path());
  auto config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object() || !config["endpoint"].is_string() || !config["token"].is_string()) {
    return std::nullopt;
  }
  return RunningDaemon{*pid, config["endpoint"].get<std::string>(),
                       config["token"].get<std::string>()};
}

int ForwardCommand(const RunningDaemon& d, const std::string& root,
                   const std::vector<std::string>& args, bool send_stdin, bool runs_until_stopped) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "hyperdrive: %s\n", message.c_str());
    return 1;
  };
  const std::string where = "the daemon on " + root + " (pid " + std::to_string(d.pid) + ")";
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  channel_args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveMs);
  channel_args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // a silent command is no fault
  auto channel =
      grpc::CreateCustomChannel(d.endpoint, grpc::InsecureChannelCredentials(), channel_args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
    return fail("Unavailable: " + where + " does not answer at " + d.endpoint + "; see its log, " +
                daemon::Root{root}.log_path());
  }
  auto stub = ::hyperdrive_cpp::CommandLine::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("token", d.token);
  std::atomic<bool> interrupted{false};
  auto stream = stub->Run(&ctx);
  // The stream's writes (the first message, stdin, the stop request) one at a time; none after
  // the call is over.
  std::mutex write_mu;
  bool call_over = false;
  StopSignal stop;
  stop.OnStop([&] {
    if (runs_until_stopped) {
      std::lock_guard lock(write_mu);
      if (call_over) return;
      CommandInput m;
      m.set_interrupt(true);
      if (stream->Write(m)) return;  // the command stops and says so; we read on
    }
    interrupted = true;
    ctx.TryCancel();
  });

  CommandInput first;
  first.add_argv("hyperdrive");
  for (size_t i = 1; i < args.size(); i++) first.add_argv(args[i]);
  first.set_cwd(WorkingDirectory());
  first.set_stdin_is_terminal(::isatty(STDIN_FILENO) == 1);
  first.set_stdout_is_terminal(::isatty(STDOUT_FILENO) == 1);
  first.set_stderr_is_terminal(::isatty(STDERR_FILENO) == 1);
  first.set_stdin_end(!send_stdin);
  bool sent = false;
  {
    std::lock_guard lock(write_mu);
    sent = stream->Write(first);
    // A command that runs until stopped keeps the stream open for the stop request.
    if (sent && !send_stdin && !runs_until_stopped) sent = stream->WritesDone();
  }

  // stdin, for a command that reads it, until its end or until the command is over.
  int wake[2] = {-1, -1};
  std::thread input;
  if (sent && send_stdin) {
    if (::pipe2(wake, O_CLOEXEC) != 0) return fail("pipe: " + std::string(std::strerror(errno)));
    input = std::thread([&stream, &wake, &write_mu] {
      std::string chunk(kStdinChunk, '\0');
      while (true) {
        pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
          if (errno == EINTR) continue;
          break;
        }
        if (fds[1].revents != 0) return;  // the command is over
        const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        CommandInput m;
        if (n <= 0) {
          // The end (or an error reading it: the daemon's put sees a short stdin and the
          // client says why below... a read error ends stdin as the local put would fail).
          m.set_stdin_end(true);
          std::lock_guard lock(write_mu);
          if (stream->Write(m)) (void)stream->WritesDone();
          return;
        }
        m.set_stdin_data(chunk.data(), static_cast<size_t>(n));
        std::lock_guard lock(write_mu);
        if (!stream->Write(m)) return;
      }
    });
  }

  std::optional<int> exit_code;
  bool output_lost = false;
  std::string lost_why;
  CommandOutput out;
  while (stream->Read(&out)) {
    if (!out.stdout_data().empty() && !output_lost &&
        !WriteAll(STDOUT_FILENO, AsBytes(out.stdout_data()), "stdout").ok()) {
      output_lost = true;
      lost_why = std::strerror(errno);
      ctx.TryCancel();  // as a local command stops when its output fails
    }
    if (!out.stderr_data().empty()) {
      (void)WriteAll(STDERR_FILENO, AsBytes(out.stderr_data()), "stderr");
    }
    if (out.exited()) {
      exit_code = out.exit_code();
      break;
    }
  }
  if (input.joinable()) {
    const char one = 1;
    (void)!::write(wake[1], &one, 1);
    input.join();
    ::close(wake[0]);
    ::close(wake[1]);
  }
  {
    std::lock_guard lock(write_mu);
    call_over = true;
  }
  if (exit_code && !output_lost) {
    // The daemon is done with the call: ours ends now (nothing more is read or sent).
    ctx.TryCancel();
    (void)stream->Finish();
    return *exit_code;
  }
  const grpc::Status status = stream->Finish();
  if (interrupted) {
    // Ended by the signal, as a local command (the StopSignal put the default action back
    // after the first one).
    ::raise(SIGINT);
    return 130;
  }
  if (output_lost) {
    return fail("IOError: writing to stdout failed: " + lost_why + ": the output is lost");
  }
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return fail("PermissionDenied: " + where + " refused its token in " +
                daemon::Root{root}.config_path() + ": " + status.error_message());
  }
  return fail("Unavailable: " + where + " went away or stopped answering during the command (" +
              status.error_message() + "); it may not have finished: see " +
              daemon::Root{root}.log_path());
}

int RunForwardedCommand(service::Host& host, const daemon::CommandIo& io) {
  ConsoleSpec spec;
  spec.in = io.in;
  spec.out = io.out;
  spec.err = io.err;
  spec.in_tty = io.in_tty;
  spec.out_tty = io.out_tty;
  spec.err_tty = io.err_tty;
  spec.cwd = io.cwd;
  spec.cancelled = io.cancelled;
  spec.interrupted = io.interrupted;
  spec.stop_fd = io.stop_fd;
  Console console(spec);
  ScopedConsole scoped_console(console);
  std::optional<DaemonMount> mount;
  if (io.root_drive) mount = DaemonMount{io.mountpoint, *io.root_drive};
  ScopedDaemonHost scoped_host(host, io.remember_network, std::move(mount));
  int code = RunCommandLine(io.argv);
  if (!console.FlushOut() && code == 0) {
    Err() << "hyperdrive: IOError: writing to stdout failed: the output is lost\n";
    code = 1;
  }
  return code;
}

}  // namespace hyper::cli
