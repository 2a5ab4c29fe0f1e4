// A Clock for tests: time stands still until the test advances it, and then the timers that
// fall due run in the order of their due times (those due at the same time in the order they
// were scheduled), each seeing Now() equal to its due time. Deterministic: no real time passes.
//
//   VirtualClock clock;                       // timers run on the thread that calls Advance
//   VirtualClock clock(&loop);                // ... or on the loop (Advance waits for each)
//   clock.Advance(std::chrono::seconds(3));   // fires what is due by then, in order
#pragma once

#include <map>
#include <utility>

#include "hyper/runtime/clock.h"

namespace hyper::runtime {

class VirtualClock : public Clock {
 public:
  // Timers run on `loop` when given (so that loop code keeps running on the loop), otherwise
  // on the thread that calls Advance. Time starts at an arbitrary fixed point.
  explicit VirtualClock(EventLoop* loop = nullptr);
  VirtualClock(const VirtualClock&) = delete;
  VirtualClock& operator=(const VirtualClock&) = delete;

  TimePoint Now() const override;
  TimerId Schedule(Duration delay, std::function<void()> fn) override;
  bool Cancel(TimerId id) override;

  // Moves time forward by `by`, running every timer due by then (including those that the
  // timers schedule meanwhile), in order; returns how many ran. Not on the loop's thread when a
  // loop is given (the timers run there and Advance waits for each).
  size_t Advance(Duration by);
  // Timers scheduled and not yet run or cancelled.
  size_t pending() const;
  // Waits (in real time, at most `timeout`) until at least `n` timers are pending: how a test
  // learns that the code under test, reacting to a real event (a socket accepted), armed its
  // timeouts. False when the time is up first.
  bool WaitForPending(size_t n, std::chrono::milliseconds timeout) const;

 private:
  EventLoop* const loop_;
  mutable Mutex mu_;
  mutable CondVar scheduled_;
  TimePoint now_ GUARDED_BY(mu_);
  TimerId next_id_ GUARDED_BY(mu_) = 1;
  // Keyed by (due time, id): ids grow, so equal due times keep the order of scheduling.
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> timers_ GUARDED_BY(mu_);
};

}  // namespace hyper::runtime
