// Leaf hashes of a batch of blocks on several cores: the calling thread and the threads of the
// process's executor (runtime::Default().executor(), shared with every feed's stores) take
// blocks one at a time from the batch.
// The hashes are exactly crypto::LeafHash of each block; only where they are computed changes.
#pragma once

#include <memory>
#include <span>

#include "hyper/crypto/crypto.h"
#include "hyper/util/bytes.h"

namespace hyper::core {

// Batches smaller than this (in bytes) are hashed on the calling thread alone: waking a worker
// costs more than it saves.
constexpr uint64_t kParallelHashMinBytes = 128 * 1024;

// Hashes `blocks` into `out` (same size). Start() hands the batch to the workers and returns at
// once, so the caller can do other work (write the data) while they hash; Finish() makes the
// calling thread hash what is left, then waits for the blocks the workers took. The destructor
// finishes a started batch: `blocks` and `out` must outlive the LeafHasher.
class LeafHasher {
 public:
  LeafHasher(std::span<const ByteView> blocks, std::span<crypto::Hash> out);
  ~LeafHasher();
  LeafHasher(const LeafHasher&) = delete;
  LeafHasher& operator=(const LeafHasher&) = delete;

  void Start();
  void Finish();

  struct Job;

 private:
  std::span<const ByteView> blocks_;
  std::span<crypto::Hash> out_;
  std::shared_ptr<Job> job_;  // set between Start() and Finish()
  bool finished_ = false;
};

// Number of executor threads that help (0 on a one-core machine: all on the caller).
unsigned LeafHashWorkers();

}  // namespace hyper::core
