// Counts events that happen on other threads (watch callbacks, listeners), and waits for them
// without sleeping: WaitAtLeast returns as soon as the count is reached.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace hyper::testing {

class EventCounter {
 public:
  void Add() {
    {
      std::lock_guard lock(mu_);
      n_++;
    }
    cv_.notify_all();
  }
  int value() const {
    std::lock_guard lock(mu_);
    return n_;
  }
  // True once at least `n` events were counted; false after `timeout`.
  bool WaitAtLeast(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return n_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

}  // namespace hyper::testing
