// Time for code that runs on the loop: what time it is, and timers. Loop code takes a Clock&
// (never std::chrono::steady_clock directly) so that tests can give it a VirtualClock and run
// timeouts, retries and backoff on virtual time, without waiting in real time.
//
//   TimerId t = clock.Schedule(std::chrono::seconds(3), [] { ... });  // once, 3 s from now
//   clock.Cancel(t);                                                  // if it has not fired
//
// Prefer runtime::Timer (timer.h), which cancels itself when destroyed.
#pragma once

#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "hyper/runtime/mutex.h"

namespace hyper::runtime {

class EventLoop;

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;
using TimerId = uint64_t;  // 0 is never a timer

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Calls `fn` once, `delay` from now (at once, but never inline, if delay <= 0). Where it
  // runs: see the implementation (on the loop for both below, when they have one). Any thread.
  virtual TimerId Schedule(Duration delay, std::function<void()> fn) = 0;
  // Makes sure the timer's fn is not called; true if it had not run yet. Called on the thread
  // that runs the timers (the loop), it is exact: fn does not run after Cancel returns.
  virtual bool Cancel(TimerId id) = 0;
};

// std::chrono::steady_clock, with timers run on `loop` (asio timers).
class RealClock : public Clock {
 public:
  explicit RealClock(EventLoop& loop);
  ~RealClock() override;
  RealClock(const RealClock&) = delete;
  RealClock& operator=(const RealClock&) = delete;

  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  TimerId Schedule(Duration delay, std::function<void()> fn) override;
  bool Cancel(TimerId id) override;

  struct State;

 private:
  EventLoop& loop_;
  std::shared_ptr<State> state_;  // shared with the timers' handlers
};

}  // namespace hyper::runtime
