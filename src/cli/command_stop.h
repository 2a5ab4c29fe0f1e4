// How a command that runs until it is stopped (import --watch, export --follow) waits: for its
// own events (descriptors it names) and for the request to stop. In the foreground the request
// is Ctrl-C (SIGINT or SIGTERM, through a StopSignal); in the daemon it is the client's stop
// request or the client going away (forward.h). Nothing polls: the wait is one poll(2) on the
// descriptors and the stop's own.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "hyper/util/status.h"
#include "stop_signal.h"

namespace hyper::cli {

// An event a callback on another thread signals and a waiting command consumes (an eventfd).
class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Safe from any thread, and from a signal's thread.
  void Notify();
  // Consumes what was signalled; true when something was.
  bool Clear();

 private:
  int fd_ = -1;
};

class CommandStop {
 public:
  // In the foreground installs a StopSignal (one per process); in the daemon uses the console's
  // stop descriptor. Create it on the command's thread.
  CommandStop();
  CommandStop(const CommandStop&) = delete;
  CommandStop& operator=(const CommandStop&) = delete;

  bool requested() const;
  // Waits until one of `fds` is readable, a stop is requested or `timeout` passes (nullopt: no
  // bound). Returns, for each of `fds`, whether it is readable.
  Result<std::vector<bool>> Wait(const std::vector<int>& fds,
                                 std::optional<std::chrono::milliseconds> timeout);

 private:
  int stop_fd_ = -1;
  std::unique_ptr<Wakeup> local_;       // the foreground's: signalled by the StopSignal
  std::unique_ptr<StopSignal> signal_;  // after local_: its thread notifies it
};

}  // namespace hyper::cli
