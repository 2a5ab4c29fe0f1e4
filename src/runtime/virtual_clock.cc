#include "hyper/runtime/virtual_clock.h"

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {

VirtualClock::VirtualClock(EventLoop* loop)
    : loop_(loop), now_(TimePoint() + std::chrono::hours(24)) {}

TimePoint VirtualClock::Now() const {
  MutexLock lock(&mu_);
  return now_;
}

TimerId VirtualClock::Schedule(Duration delay, std::function<void()> fn) {
  MutexLock lock(&mu_);
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(now_ + std::max(delay, Duration::zero()), id), std::move(fn));
  scheduled_.SignalAll();
  return id;
}

bool VirtualClock::Cancel(TimerId id) {
  MutexLock lock(&mu_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->first.second == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

size_t VirtualClock::Advance(Duration by) {
  TimePoint target;
  {
    MutexLock lock(&mu_);
    target = now_ + std::max(by, Duration::zero());
  }
  size_t ran = 0;
  while (true) {
    std::function<void()> fn;
    {
      MutexLock lock(&mu_);
      auto it = timers_.begin();
      if (it == timers_.end() || it->first.first > target) {
        now_ = target;
        return ran;
      }
      now_ = it->first.first;
      fn = std::move(it->second);
      timers_.erase(it);
    }
    if (loop_ != nullptr) {
      loop_->Call([&] { fn(); });
    } else {
      fn();
    }
    ran++;
  }
}

size_t VirtualClock::pending() const {
  MutexLock lock(&mu_);
  return timers_.size();
}

}  // namespace hyper::runtime

namespace hyper::runtime {

bool VirtualClock::WaitForPending(size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (timers_.size() < n) {
    if (!scheduled_.WaitUntil(&mu_, deadline)) return timers_.size() >= n;
  }
  return true;
}

}  // namespace hyper::runtime
