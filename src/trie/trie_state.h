// Internal: the state shared by a trie and its checkouts.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <algorithm>

#include "hyper/trie/trie.h"

namespace hyper::trie {

struct WatchEntry {
  std::string prefix;
  std::function<void()> on_change;
  std::mutex mu;  // serializes the check-and-notify of one watcher
  uint64_t closest = 0;
};

struct TrieState {
  std::shared_ptr<Log> log;
  TrieOptions options;
  std::mutex write_mu;

  // Decoded nodes by seq, direct-mapped (slot = seq mod capacity: seqs are dense, so a trie
  // that fits never collides, and a lookup is one index, no hashing). The table starts small
  // and grows by 4x while it keeps missing, up to options.cache_size, so a store of many
  // small drives stays small.
  std::mutex cache_mu;
  struct CacheSlot {
    uint64_t seq = 0;  // 0: empty (seq 0 is the header, never cached)
    std::shared_ptr<const Node> node;
  };
  std::vector<CacheSlot> cache;
  size_t cache_inserts = 0;  // since the last growth

  std::shared_ptr<const Node> CacheGet(uint64_t seq) {
    std::lock_guard lock(cache_mu);
    if (cache.empty()) return nullptr;
    const CacheSlot& slot = cache[seq & (cache.size() - 1)];
    return slot.seq == seq ? slot.node : nullptr;
  }
  void CachePut(uint64_t seq, std::shared_ptr<const Node> node) {
    std::shared_ptr<const Node> evicted;  // released after the lock
    std::lock_guard lock(cache_mu);
    if (cache.empty()) cache.resize(std::min<size_t>(1024, MaxCache()));
    if (++cache_inserts > cache.size() && cache.size() < MaxCache()) GrowCache();
    CacheSlot& slot = cache[seq & (cache.size() - 1)];
    evicted = std::move(slot.node);
    slot.seq = seq;
    slot.node = std::move(node);
  }
  // The capacity: options.cache_size rounded down to a power of two.
  size_t MaxCache() const {
    size_t cap = 2;
    while (cap * 2 <= options.cache_size) cap *= 2;
    return cap;
  }
  void GrowCache() {
    std::vector<CacheSlot> bigger(std::min(cache.size() * 4, MaxCache()));
    for (CacheSlot& slot : cache) {
      if (slot.node) bigger[slot.seq & (bigger.size() - 1)] = std::move(slot);
    }
    cache = std::move(bigger);
    cache_inserts = 0;
  }

  std::mutex watch_mu;
  std::map<uint64_t, std::shared_ptr<WatchEntry>> watchers;
  uint64_t next_watch = 1;
  uint64_t listener = 0;

  ~TrieState() {
    if (listener != 0) log->RemoveListener(listener);
  }
};

}  // namespace hyper::trie
