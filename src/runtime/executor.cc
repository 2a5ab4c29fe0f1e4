#include "hyper/runtime/executor.h"

#include <pthread.h>

#include <algorithm>

namespace hyper::runtime {
namespace {
// The key of the job that runs on this thread (to let WaitIdle from inside a job return).
thread_local Executor::Key current_key = nullptr;
thread_local const Executor* current_executor = nullptr;
}  // namespace

Executor::Executor(const ExecutorOptions& options)
    : options_([&] {
        ExecutorOptions o = options;
        o.threads = std::max<size_t>(o.threads, 1);
        o.max_queued = std::max<size_t>(o.max_queued, 1);
        return o;
      }()) {
  for (size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
      current_executor = this;
      Run();
    });
  }
}

Executor::~Executor() { Shutdown(); }

bool Executor::RunsOnExecutor() const { return current_executor == this; }

bool Executor::Post(Key key, Job job, Lane lane) {
  return Enqueue(key, std::move(job), lane,
                 RunsOnExecutor() ? WhenFull::kOverflow : WhenFull::kWait);
}

bool Executor::TryPost(Key key, Job job, Lane lane) {
  return Enqueue(key, std::move(job), lane, WhenFull::kFail);
}

bool Executor::Enqueue(Key key, Job job, Lane lane, WhenFull when_full) {
  MutexLock lock(&mu_);
  if (lane == Lane::kNormal && when_full != WhenFull::kOverflow) {
    while (!stopping_ && queued_ >= options_.max_queued) {
      if (when_full == WhenFull::kFail) return false;
      room_.Wait(&mu_);
    }
  }
  if (stopping_) return false;
  if (lane == Lane::kNormal) queued_++;
  if (key == nullptr) {
    unkeyed_.push_back(std::move(job));
    work_.Signal();
    return true;
  }
  KeyQueue& q = keys_[key];
  const bool was_waiting = !q.running && !q.empty();
  const bool was_urgent = !q.urgent.empty();
  (lane == Lane::kUrgent ? q.urgent : q.normal).push_back(std::move(job));
  if (!q.running) {
    if (!was_waiting) {
      MakeReady(key, q);
    } else if (lane == Lane::kUrgent && !was_urgent) {
      // Moves the key to the urgent list.
      ready_.erase(std::find(ready_.begin(), ready_.end(), key));
      ready_urgent_.push_back(key);
    }
  }
  work_.Signal();
  return true;
}

void Executor::MakeReady(Key key, const KeyQueue& q) {
  (q.urgent.empty() ? ready_ : ready_urgent_).push_back(key);
}

void Executor::Run() {
  MutexLock lock(&mu_);
  while (true) {
    while (ready_urgent_.empty() && ready_.empty() && unkeyed_.empty() && !stopping_) {
      work_.Wait(&mu_);
    }
    Job job;
    Key key = nullptr;
    bool normal = true;
    if (!ready_urgent_.empty() || !ready_.empty()) {
      auto& from = ready_urgent_.empty() ? ready_ : ready_urgent_;
      key = from.front();
      from.pop_front();
      KeyQueue& q = keys_[key];
      normal = q.urgent.empty();
      auto& jobs = normal ? q.normal : q.urgent;
      job = std::move(jobs.front());
      jobs.pop_front();
      q.running = true;
    } else if (!unkeyed_.empty()) {
      job = std::move(unkeyed_.front());
      unkeyed_.pop_front();
      unkeyed_running_++;
    } else {
      return;  // stopping, and nothing is left
    }
    if (normal) {
      queued_--;
      room_.Signal();
    }
    mu_.Unlock();
    current_key = key;
    job();
    job = nullptr;  // destroyed outside the lock
    current_key = nullptr;
    mu_.Lock();
    if (key == nullptr) {
      unkeyed_running_--;
      continue;
    }
    auto it = keys_.find(key);
    it->second.running = false;
    if (it->second.empty()) {
      keys_.erase(it);
      idle_.SignalAll();
    } else {
      MakeReady(key, it->second);  // behind the other keys: fair between feeds
      work_.Signal();
    }
  }
}

void Executor::WaitIdle(Key key) {
  if (RunsOnExecutor() && current_key == key) return;
  MutexLock lock(&mu_);
  while (keys_.count(key) != 0) idle_.Wait(&mu_);
}

void Executor::Shutdown() {
  MutexLock shutdown(&shutdown_mu_);
  if (joined_) return;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
    room_.SignalAll();
  }
  for (auto& t : threads_) t.join();
  joined_ = true;
}

}  // namespace hyper::runtime
