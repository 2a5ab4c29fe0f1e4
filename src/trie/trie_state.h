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

  // Decoded nodes by seq: a two-way set-associative table (set = seq mod sets: seqs are dense,
  // so a trie that fits never collides, and a lookup is one index, no hashing). A hit marks its
  // slot hot and an insert evicts a cold slot first, so the upper levels of the trie, which
  // every lookup walks through, stay while the deep nodes of one lookup come and go. The table
  // starts small and grows by 4x while it keeps missing, up to options.cache_size, so a store
  // of many small drives stays small.
  std::mutex cache_mu;
  struct CacheSlot {
    uint64_t seq = 0;  // 0: empty (seq 0 is the header, never cached)
    bool hot = false;
    std::shared_ptr<const Node> node;
  };
  std::vector<CacheSlot> cache;  // set k is slots 2k and 2k+1
  size_t cache_inserts = 0;      // since the last growth

  std::shared_ptr<const Node> CacheGet(uint64_t seq) {
    std::lock_guard lock(cache_mu);
    if (cache.empty()) return nullptr;
    CacheSlot* set = &cache[2 * (seq & (cache.size() / 2 - 1))];
    for (int way = 0; way < 2; way++) {
      if (set[way].seq == seq) {
        set[way].hot = true;
        return set[way].node;
      }
    }
    return nullptr;
  }
  void CachePut(uint64_t seq, std::shared_ptr<const Node> node) {
    std::shared_ptr<const Node> evicted;  // released after the lock
    std::lock_guard lock(cache_mu);
    if (cache.empty()) cache.resize(std::min<size_t>(1024, MaxCache()));
    if (++cache_inserts > cache.size() && cache.size() < MaxCache()) GrowCache();
    CacheSlot* set = &cache[2 * (seq & (cache.size() / 2 - 1))];
    CacheSlot* victim = nullptr;
    for (int way = 0; way < 2 && victim == nullptr; way++) {
      if (set[way].seq == seq || set[way].seq == 0) victim = &set[way];
    }
    for (int way = 0; way < 2 && victim == nullptr; way++) {
      if (!set[way].hot) victim = &set[way];
    }
    if (victim == nullptr) {  // both hot: both cool down, the newer one's neighbour goes
      set[0].hot = set[1].hot = false;
      victim = &set[seq & 1];
    }
    evicted = std::move(victim->node);
    victim->seq = seq;
    victim->hot = false;
    victim->node = std::move(node);
  }
  // The capacity: options.cache_size rounded down to a power of two (at least one set).
  size_t MaxCache() const {
    size_t cap = 2;
    while (cap * 2 <= options.cache_size) cap *= 2;
    return cap;
  }
  void GrowCache() {
    std::vector<CacheSlot> bigger(std::min(cache.size() * 4, MaxCache()));
    const size_t sets = bigger.size() / 2;
    for (CacheSlot& slot : cache) {
      if (!slot.node) continue;
      CacheSlot* set = &bigger[2 * (slot.seq & (sets - 1))];
      CacheSlot* to = set[0].node ? &set[1] : &set[0];
      if (!to->node) *to = std::move(slot);
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
