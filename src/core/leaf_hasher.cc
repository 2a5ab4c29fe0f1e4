#include "src/core/leaf_hasher.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace hyper::core {

// One batch: the caller and the workers claim blocks with `next`; `done` counts hashed ones.
struct LeafHasher::Job {
  std::span<const ByteView> blocks;
  std::span<crypto::Hash> out;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mu;
  std::condition_variable all_done;

  // Hashes blocks until none is left to claim.
  void Work() {
    const size_t n = blocks.size();
    for (size_t i = next.fetch_add(1, std::memory_order_relaxed); i < n;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      out[i] = crypto::LeafHash(blocks[i]);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        std::lock_guard g(mu);
        all_done.notify_all();
      }
    }
  }
  bool Claimable() const { return next.load(std::memory_order_relaxed) < blocks.size(); }
  void WaitAll() {
    std::unique_lock g(mu);
    all_done.wait(g, [&] { return done.load(std::memory_order_acquire) == blocks.size(); });
  }
};

namespace {

// The shared workers. Created on first use and never destroyed (a feed may append during the
// destruction of static objects; the threads end with the process).
class Pool {
 public:
  explicit Pool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) {
      std::thread([this] {
        pthread_setname_np(pthread_self(), "hyper-hash");  // for top -H, perf
        Run();
      }).detach();
    }
  }

  void Submit(std::shared_ptr<LeafHasher::Job> job) {
    {
      std::lock_guard g(mu_);
      queue_.push_back(std::move(job));
    }
    ready_.notify_all();
  }

  // Drops a job from the queue (its blocks are all claimed, or it is being finished).
  void Remove(const LeafHasher::Job* job) {
    std::lock_guard g(mu_);
    auto it =
        std::find_if(queue_.begin(), queue_.end(), [&](const auto& j) { return j.get() == job; });
    if (it != queue_.end()) queue_.erase(it);
  }

 private:
  void Run() {
    while (true) {
      std::shared_ptr<LeafHasher::Job> job;
      {
        std::unique_lock g(mu_);
        ready_.wait(g, [&] { return !queue_.empty(); });
        job = queue_.front();
        if (!job->Claimable()) {
          queue_.pop_front();
          continue;
        }
      }
      job->Work();
      Remove(job.get());
    }
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<LeafHasher::Job>> queue_;
};

Pool* SharedPool() {
  static Pool* pool = LeafHashWorkers() == 0 ? nullptr : new Pool(LeafHashWorkers());
  return pool;
}

}  // namespace

unsigned LeafHashWorkers() {
  static const unsigned workers = [] {
    unsigned cores = std::thread::hardware_concurrency();
    return cores <= 1 ? 0u : std::min(cores - 1, 3u);
  }();
  return workers;
}

LeafHasher::LeafHasher(std::span<const ByteView> blocks, std::span<crypto::Hash> out)
    : blocks_(blocks), out_(out) {}

LeafHasher::~LeafHasher() { Finish(); }

void LeafHasher::Start() {
  if (job_ || finished_ || blocks_.size() < 2) return;
  uint64_t bytes = 0;
  for (const auto& b : blocks_) bytes += b.size();
  Pool* pool = bytes >= kParallelHashMinBytes ? SharedPool() : nullptr;
  if (!pool) return;
  job_ = std::make_shared<Job>();
  job_->blocks = blocks_;
  job_->out = out_;
  pool->Submit(job_);
}

void LeafHasher::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!job_) {
    for (size_t i = 0; i < blocks_.size(); ++i) out_[i] = crypto::LeafHash(blocks_[i]);
    return;
  }
  job_->Work();
  SharedPool()->Remove(job_.get());
  job_->WaitAll();
  job_.reset();
}

}  // namespace hyper::core
