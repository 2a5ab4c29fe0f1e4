#include "stop_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace hyper::cli {
namespace {

// The handler only writes the signal's number to this pipe (async-signal-safe); the thread
// reads it. A 0 byte asks the thread to end.
int pipe_fds[2] = {-1, -1};
struct sigaction old_int {};
struct sigaction old_term {};

void OnSignal(int sig) {
  int saved = errno;
  char b = static_cast<char>(sig);
  (void)!write(pipe_fds[1], &b, 1);
  errno = saved;
}

void RestoreHandlers() {
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

}  // namespace

StopSignal::StopSignal() {
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    pipe_fds[0] = pipe_fds[1] = -1;
    return;  // no handler: the signals keep their default action (the process ends)
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  thread_ = std::thread([this] { Run(); });
}

StopSignal::~StopSignal() {
  if (pipe_fds[0] < 0) return;
  RestoreHandlers();
  char zero = 0;
  (void)!write(pipe_fds[1], &zero, 1);
  thread_.join();
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

void StopSignal::Run() {
  while (true) {
    char b = 0;
    ssize_t n = read(pipe_fds[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || b == 0) return;
    if (requested_.exchange(true)) continue;
    RestoreHandlers();  // a second signal acts as if we were not there
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      fn = on_stop_;
    }
    if (fn) fn();
  }
}

void StopSignal::OnStop(const std::function<void()>& fn) {
  {
    std::lock_guard lock(mu_);
    on_stop_ = fn;
  }
  if (requested_ && fn) fn();
}

}  // namespace hyper::cli
