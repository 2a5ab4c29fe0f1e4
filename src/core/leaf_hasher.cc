#include "src/core/leaf_hasher.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "hyper/runtime/mutex.h"
#include "hyper/runtime/runtime.h"

namespace hyper::core {

// One batch: the caller and the workers claim blocks with `next`; `done` counts hashed ones.
struct LeafHasher::Job {
  static constexpr size_t kClaim = 4;
  std::span<const ByteView> blocks;
  std::span<crypto::Hash> out;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  runtime::Mutex mu;
  runtime::CondVar all_done;

  // Hashes blocks, four at a time (crypto::LeafHashes runs four lanes at once), until none is
  // left to claim.
  void Work() {
    const size_t n = blocks.size();
    for (size_t i = next.fetch_add(kClaim, std::memory_order_relaxed); i < n;
         i = next.fetch_add(kClaim, std::memory_order_relaxed)) {
      const size_t count = std::min(kClaim, n - i);
      crypto::LeafHashes(blocks.subspan(i, count), out.subspan(i, count));
      if (done.fetch_add(count, std::memory_order_acq_rel) + count == n) {
        runtime::MutexLock g(&mu);
        all_done.SignalAll();
      }
    }
  }
  void WaitAll() {
    runtime::MutexLock g(&mu);
    while (done.load(std::memory_order_acquire) != blocks.size()) all_done.Wait(&mu);
  }
};

unsigned LeafHashWorkers() {
  static const unsigned workers = [] {
    // On a one-core machine all on the caller: handing blocks to another thread only costs.
    // Otherwise one fewer than the cores (the caller hashes too), at most the executor's threads.
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores <= 1) return 0u;
    return std::min(cores - 1, static_cast<unsigned>(runtime::Default().executor().threads()));
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
  if (bytes < kParallelHashMinBytes || LeafHashWorkers() == 0) return;
  job_ = std::make_shared<Job>();
  job_->blocks = blocks_;
  job_->out = out_;
  // One job per worker; each claims blocks until none is left (a job that starts after the
  // caller claimed the rest finds nothing to do: it holds only the Job, never the blocks).
  runtime::Executor& executor = runtime::Default().executor();
  for (unsigned i = 0; i < LeafHashWorkers(); ++i) {
    if (!executor.TryPost([job = job_] { job->Work(); })) break;  // full: the caller hashes
  }
}

void LeafHasher::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!job_) {
    crypto::LeafHashes(blocks_, out_);
    return;
  }
  job_->Work();
  job_->WaitAll();
  job_.reset();
}

}  // namespace hyper::core
