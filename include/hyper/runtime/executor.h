// A fixed pool of threads for blocking feed work (verifying and writing received blocks,
// hashing, answering a peer's queries of a feed): the disk side of the process, so that the
// event loop never blocks. The number of threads is fixed when it is made, whatever the number
// of feeds or connections.
//
// Jobs posted with the same key (a feed) run one at a time, in the order posted; jobs of
// different keys run in parallel. A key's urgent jobs run before its normal ones that wait
// (short queries that must not wait behind a burst of writes). Jobs without a key run on any
// free thread. At most `max_queued` normal jobs wait: Post then waits for room (back-pressure);
// TryPost says no instead. Urgent jobs are not counted.
//
//   Executor& ex = runtime::Default().executor();
//   ex.Post(feed, [=] { feed->Put(...); });               // in order for this feed
//   ex.Post(feed, [=] { feed->Has(...); }, Lane::kUrgent); // before the Puts that wait
//   ex.WaitIdle(feed);                                     // nothing of it runs or waits
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "hyper/runtime/mutex.h"

namespace hyper::runtime {

enum class Lane { kNormal, kUrgent };

struct ExecutorOptions {
  size_t threads = 2;
  size_t max_queued = 65536;
  std::string name = "hyper-exec";  // thread names (top -H, perf, gdb)
};

class Executor {
 public:
  using Key = const void*;  // nullptr: no key (no ordering)
  using Job = std::function<void()>;

  explicit Executor(const ExecutorOptions& options = {});
  // Shutdown().
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `job`; false (and the job dropped) once Shutdown started. Waits while max_queued
  // normal jobs wait, unless called on one of the executor's threads (a job that posts more
  // work must not wait for itself).
  bool Post(Key key, Job job, Lane lane = Lane::kNormal) EXCLUDES(mu_);
  bool Post(Job job) { return Post(nullptr, std::move(job)); }
  // As Post, but false at once when the queue is full.
  bool TryPost(Key key, Job job, Lane lane = Lane::kNormal) EXCLUDES(mu_);
  bool TryPost(Job job) { return TryPost(nullptr, std::move(job)); }

  // Returns once no job of `key` waits or runs (jobs it posts meanwhile included). Returns at
  // once when called from a job of that key (it could never finish otherwise).
  void WaitIdle(Key key) EXCLUDES(mu_);
  // Runs every job that waits, refuses new ones, and joins the threads. Idempotent; not from a
  // job.
  void Shutdown() EXCLUDES(mu_);

  size_t threads() const { return options_.threads; }
  // True on one of the executor's threads.
  bool RunsOnExecutor() const;

 private:
  struct KeyQueue {
    std::deque<Job> urgent;
    std::deque<Job> normal;
    bool running = false;  // a job of this key runs (the key is not in ready_ meanwhile)
    bool empty() const { return urgent.empty() && normal.empty(); }
  };

  // What a normal job does when max_queued wait: wait for room, fail, or go over the bound.
  enum class WhenFull { kWait, kFail, kOverflow };
  bool Enqueue(Key key, Job job, Lane lane, WhenFull when_full) EXCLUDES(mu_);
  void Run() EXCLUDES(mu_);
  // Queues `key` to be picked by a thread: urgent work first.
  void MakeReady(Key key, const KeyQueue& q) REQUIRES(mu_);

  const ExecutorOptions options_;
  Mutex mu_;
  CondVar work_;  // a job is ready, or stopping
  CondVar room_;  // a normal job left the queue
  CondVar idle_;  // a key became idle
  std::map<Key, KeyQueue> keys_ GUARDED_BY(mu_);
  std::deque<Key> ready_urgent_ GUARDED_BY(mu_);  // keys whose next job is urgent
  std::deque<Key> ready_ GUARDED_BY(mu_);
  std::deque<Job> unkeyed_ GUARDED_BY(mu_);
  size_t queued_ GUARDED_BY(mu_) = 0;  // normal jobs waiting (keyed and not)
  size_t unkeyed_running_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // set in the constructor, joined in Shutdown
  bool joined_ = false;               // only Shutdown touches it, under shutdown_mu_
  Mutex shutdown_mu_;
};

}  // namespace hyper::runtime
