#include "hyper/runtime/clock.h"

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {

// The timers that have not fired: a handler that finds its timer gone was cancelled.
struct RealClock::State {
  struct Entry {
    std::unique_ptr<asio::steady_timer> timer;
    std::function<void()> fn;
  };
  Mutex mu;
  TimerId next_id GUARDED_BY(mu) = 1;
  std::map<TimerId, Entry> timers GUARDED_BY(mu);
};

RealClock::RealClock(EventLoop& loop) : loop_(loop), state_(std::make_shared<State>()) {}

RealClock::~RealClock() {
  MutexLock lock(&state_->mu);
  for (auto& [id, entry] : state_->timers) entry.timer->cancel();
  state_->timers.clear();
}

TimerId RealClock::Schedule(Duration delay, std::function<void()> fn) {
  MutexLock lock(&state_->mu);
  TimerId id = state_->next_id++;
  auto timer = std::make_unique<asio::steady_timer>(loop_.context());
  timer->expires_after(delay);
  std::weak_ptr<State> weak = state_;
  timer->async_wait([weak, id](std::error_code) {
    auto state = weak.lock();
    if (!state) return;
    std::function<void()> fn;
    {
      MutexLock l(&state->mu);
      auto it = state->timers.find(id);
      if (it == state->timers.end()) return;  // cancelled
      fn = std::move(it->second.fn);
      state->timers.erase(it);
    }
    fn();
  });
  state_->timers.emplace(id, State::Entry{std::move(timer), std::move(fn)});
  return id;
}

bool RealClock::Cancel(TimerId id) {
  MutexLock lock(&state_->mu);
  auto it = state_->timers.find(id);
  if (it == state_->timers.end()) return false;
  it->second.timer->cancel();
  state_->timers.erase(it);
  return true;
}

}  // namespace hyper::runtime
