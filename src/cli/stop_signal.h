// SIGINT and SIGTERM as an event for the commands that run until stopped (seed, sync --live):
// while a StopSignal lives, the first such signal (whichever thread the kernel gives it to)
// sets requested() and calls the OnStop callback from a thread of its own; the default action
// is back for a second one (a stop that hangs can still be forced).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace hyper::cli {

class StopSignal {
 public:
  // Installs the handlers. One StopSignal at a time per process.
  StopSignal();
  // Puts the previous handlers back and ends its thread.
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // `fn` runs (on the signal thread) when a signal comes; at once if one came already.
  void OnStop(const std::function<void()>& fn);
  bool requested() const { return requested_.load(); }

 private:
  void Run();

  std::atomic<bool> requested_{false};
  std::mutex mu_;
  std::function<void()> on_stop_;
  std::thread thread_;
};

}  // namespace hyper::cli
