// The in-memory index from leaf hash to a local block of the store, and the scans that fill it
// (include/hyper/corestore/leaf_index.h, docs/dedup.md).
#include "hyper/corestore/leaf_index.h"

#include <algorithm>
#include <cstring>

namespace hyper::corestore {
namespace {

// Leaf nodes read from a tree at once while scanning (40 bytes each).
constexpr uint64_t kScanBatch = 4096;

}  // namespace

LeafIndex::LeafIndex(LeafIndexOptions options) : options_(options) {}

uint64_t LeafIndex::KeyOf(const crypto::Hash& leaf_hash) {
  uint64_t key = 0;
  std::memcpy(&key, leaf_hash.data(), sizeof(key));
  return key;
}

uint32_t LeafIndex::CoreIdLocked(const crypto::Hash& dk) {
  auto it = ids_.find(dk);
  if (it != ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(cores_.size());
  cores_.push_back(dk);
  ids_.emplace(dk, id);
  return id;
}

void LeafIndex::Add(const crypto::Hash& dk, uint64_t index, const crypto::Hash& leaf_hash,
                    uint64_t size) {
  if (size < options_.min_block_bytes) return;
  std::lock_guard lock(mu_);
  if (entries_.size() >= options_.max_entries) return;
  const uint64_t key = KeyOf(leaf_hash);
  if (entries_.count(key)) return;
  entries_.emplace(key, Entry{CoreIdLocked(dk), index});
}

Status LeafIndex::AddBlocks(const core::Feed& feed, uint64_t start, uint64_t end) {
  end = std::min(end, feed.length());
  const crypto::Hash& dk = feed.discovery_key();
  uint64_t i = start;
  while (i < end) {
    if (!feed.Has(BlockIndex(i))) {
      ++i;
      continue;
    }
    uint64_t run_end = i + 1;
    while (run_end < end && run_end - i < kScanBatch && feed.Has(BlockIndex(run_end))) ++run_end;
    ASSIGN_OR_RETURN(auto leaves, feed.LeafNodes(BlockIndex(i), BlockIndex(run_end)));
    for (uint64_t j = 0; j < leaves.size(); ++j) Add(dk, i + j, leaves[j].hash, leaves[j].size);
    i = run_end;
  }
  return Status::Ok();
}

Result<bool> LeafIndex::Cover(const core::Feed& feed) {
  const LeafCoverage now{feed.length(), feed.Downloaded()};
  if (CoverageOf(feed.discovery_key()) == now) return false;
  RETURN_IF_ERROR(AddBlocks(feed, 0, now.length)
                      .Annotate("indexing the blocks of core " + ToHex(feed.discovery_key())));
  SetCoverage(feed.discovery_key(), now);
  return true;
}

void LeafIndex::SetCoverage(const crypto::Hash& dk, LeafCoverage coverage) {
  std::lock_guard lock(mu_);
  cover_[CoreIdLocked(dk)] = coverage;
}

std::optional<LeafCoverage> LeafIndex::CoverageOf(const crypto::Hash& dk) const {
  std::lock_guard lock(mu_);
  auto id = ids_.find(dk);
  if (id == ids_.end()) return std::nullopt;
  auto it = cover_.find(id->second);
  if (it == cover_.end()) return std::nullopt;
  return it->second;
}

std::optional<BlockLocation> LeafIndex::Find(const crypto::Hash& leaf_hash) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(KeyOf(leaf_hash));
  if (it == entries_.end()) return std::nullopt;
  return BlockLocation{cores_[it->second.core], it->second.index};
}

void LeafIndex::Forget(const crypto::Hash& leaf_hash, const BlockLocation& where) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(KeyOf(leaf_hash));
  if (it == entries_.end()) return;
  if (cores_[it->second.core] == where.discovery_key && it->second.index == where.index) {
    entries_.erase(it);
  }
}

size_t LeafIndex::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace hyper::corestore
