#include "command_service.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "auth.h"

namespace hyper::daemon {

namespace {

using ::hyperdrive_cpp::CommandInput;
using ::hyperdrive_cpp::CommandOutput;

// Bounds on what a client may send as its command line.
constexpr int kMaxArgs = 4096;
constexpr size_t kMaxCommandBytes = 1 << 20;
// Output is sent in chunks of at most this many bytes.
constexpr size_t kChunkBytes = 1 << 20;

// A descriptor closed once, by whoever closes it first.
class Fd {
 public:
  Fd() = default;
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool MakePipe(Fd& read_end, Fd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  read_end.Reset(p[0]);
  write_end.Reset(p[1]);
  return true;
}

// Writes all of `data`; false when the reader is gone.
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

CommandService::CommandService(service::Host& host, std::string token, CommandRunner runner,
                               decltype(CommandIo::remember_network) remember_network)
    : host_(host),
      token_(std::move(token)),
      runner_(std::move(runner)),
      remember_network_(std::move(remember_network)) {}

grpc::Status CommandService::Run(grpc::ServerContext* ctx,
                                 grpc::ServerReaderWriter<CommandOutput, CommandInput>* stream) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  if (!runner_) {
    return {grpc::StatusCode::UNIMPLEMENTED, "this daemon runs no commands of the command line"};
  }
  CommandInput first;
  if (!stream->Read(&first)) return {grpc::StatusCode::CANCELLED, "no command was sent"};
  size_t bytes = first.cwd().size();
  for (const auto& a : first.argv()) bytes += a.size();
  if (first.argv_size() == 0 || first.argv_size() > kMaxArgs || bytes > kMaxCommandBytes) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "a command needs 1 to " + std::to_string(kMaxArgs) + " arguments of at most " +
                std::to_string(kMaxCommandBytes) + " bytes in all"};
  }

  Fd in_r, in_w, out_r, out_w, err_r, err_w, wake_r, wake_w, stop_r, stop_w;
  if (!MakePipe(in_r, in_w) || !MakePipe(out_r, out_w) || !MakePipe(err_r, err_w) ||
      !MakePipe(wake_r, wake_w) || !MakePipe(stop_r, stop_w)) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED, "no pipes left for the command"};
  }
  // A stdout pipe as large as a chunk: a cat sends 1 MiB messages, not the default 64 KiB
  // (best effort: a smaller pipe only means smaller messages).
  (void)::fcntl(out_r.get(), F_SETPIPE_SZ, static_cast<int>(kChunkBytes));
  std::atomic<bool> cancelled{false};
  std::atomic<bool> interrupted{false};
  // Wakes a command that waits for events: one byte, never read, keeps stop_r readable.
  std::atomic<bool> stop_said{false};
  auto say_stop = [&] {
    if (stop_said.exchange(true)) return;
    const char one = 1;
    (void)!::write(stop_w.get(), &one, 1);
  };
  CommandIo io;
  io.argv.assign(first.argv().begin(), first.argv().end());
  io.cwd = first.cwd();
  io.in = in_r.get();
  io.out = out_w.get();
  io.err = err_w.get();
  io.in_tty = first.stdin_is_terminal();
  io.out_tty = first.stdout_is_terminal();
  io.err_tty = first.stderr_is_terminal();
  io.cancelled = &cancelled;
  io.interrupted = &interrupted;
  io.stop_fd = stop_r.get();
  io.remember_network = remember_network_;
  io.mountpoint = mountpoint_;
  io.root_drive = root_drive_;

  // The command, on a thread of its own. When it returns, its ends of the pipes close: the
  // pump below sees the end of its output, the input thread a stdin nobody reads.
  int exit_code = 1;
  std::thread command([&] {
    exit_code = runner_(host_, io);
    out_w.Close();
    err_w.Close();
    in_r.Close();
  });
  // The client's messages: stdin for the command, until the client half-closes (or goes).
  std::thread input([&] {
    bool feeding = true;
    auto feed = [&](const CommandInput& m) {
      if (feeding && !m.stdin_data().empty()) feeding = WriteAll(in_w.get(), m.stdin_data());
      if (m.stdin_end()) in_w.Close();
      if (m.interrupt()) {
        interrupted = true;
        say_stop();
      }
    };
    feed(first);
    CommandInput m;
    while (stream->Read(&m)) feed(m);
    if (ctx->IsCancelled()) {
      cancelled = true;  // before the EOF below: a command that reads it checks this
      say_stop();
      const char one = 1;
      (void)!::write(wake_w.get(), &one, 1);
    }
    in_w.Close();
  });

  // The output, to the client as it comes.
  bool out_open = true, err_open = true, client_gone = false;
  std::string chunk(kChunkBytes, '\0');
  while ((out_open || err_open) && !client_gone) {
    pollfd fds[3] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0},
                     {wake_r.get(), POLLIN, 0}};
    const int ready = ::poll(fds, 3, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (fds[2].revents & POLLIN) != 0) {
      client_gone = true;
      break;
    }
    for (int i = 0; i < 2 && !client_gone; i++) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      CommandOutput msg;
      (i == 0 ? msg.mutable_stdout_data() : msg.mutable_stderr_data())
          ->assign(chunk.data(), static_cast<size_t>(n));
      if (!stream->Write(msg)) client_gone = true;
    }
  }
  if (client_gone) {
    // The command stops: at its next check of `cancelled`, or its next write (EPIPE).
    cancelled = true;
    say_stop();
    out_r.Close();
    err_r.Close();
  }
  command.join();
  grpc::Status result = grpc::Status::OK;
  if (!client_gone) {
    CommandOutput last;
    last.set_exited(true);
    last.set_exit_code(exit_code);
    if (!stream->Write(last)) result = {grpc::StatusCode::CANCELLED, "the client went away"};
  } else {
    result = {grpc::StatusCode::CANCELLED, "the client went away; the command was stopped"};
  }
  input.join();  // the client half-closes after the last message (or is gone)
  return result;
}

}  // namespace hyper::daemon
