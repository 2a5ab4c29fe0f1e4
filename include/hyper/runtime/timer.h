// One timer on a Clock, cancelled when it is destroyed or started again: what loop code holds
// for a timeout, a keep-alive or a retry.
//
//   Timer idle_(clock);
//   idle_.Start(std::chrono::seconds(20), [this] { Close("idle"); });  // re-arms
//   idle_.Cancel();
#pragma once

#include <functional>

#include "hyper/runtime/clock.h"

namespace hyper::runtime {

class Timer {
 public:
  explicit Timer(Clock& clock) : clock_(clock) {}
  ~Timer() { Cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Calls `fn` once, `delay` from now, unless cancelled or started again before.
  void Start(Duration delay, std::function<void()> fn);
  void Cancel();
  bool armed() const { return id_ != 0; }
  Clock& clock() const { return clock_; }

 private:
  Clock& clock_;
  TimerId id_ = 0;
};

}  // namespace hyper::runtime
