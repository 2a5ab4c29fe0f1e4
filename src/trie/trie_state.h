// Internal: the state shared by a trie and its checkouts.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hyper/trie/trie.h"
#include "hyper/util/small_vector.h"

namespace hyper::trie {

struct WatchEntry {
  std::string prefix;
  std::function<void()> on_change;
  // Serializes the check-and-notify of one watcher, and its cancellation (a watcher destroyed
  // from its own callback takes it again on the same thread).
  std::recursive_mutex mu;
  uint64_t closest = 0;
  bool cancelled = false;
};

// Decoded nodes held by the caches of every trie in the process, and the most they may hold
// (SetProcessNodeBudget; unlimited unless set). Past the budget a trie neither grows its table
// nor fills an empty slot: a node read then replaces a cold one of the same trie, or is not
// cached. A daemon with many drives open stays bounded this way; the count is approximate
// under concurrency (a few nodes over, never drifting).
inline std::atomic<size_t> g_cached_nodes{0};
inline std::atomic<size_t> g_node_budget{SIZE_MAX};
inline bool OverNodeBudget() {
  return g_cached_nodes.load(std::memory_order_relaxed) >=
         g_node_budget.load(std::memory_order_relaxed);
}

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
    const NodePtr* slot = CacheFindLocked(seq);
    return slot != nullptr ? *slot : nullptr;
  }
  void CachePut(uint64_t seq, std::shared_ptr<const Node> node) {
    std::shared_ptr<const Node> evicted;  // released after the lock
    std::lock_guard lock(cache_mu);
    evicted = CachePutLocked(seq, std::move(node));
  }
  // REQUIRES: cache_mu held. The cached node at seq (its slot marked hot), or nullptr. The
  // pointer is valid while the lock is held and the table is not changed.
  const NodePtr* CacheFindLocked(uint64_t seq) {
    if (cache.empty()) return nullptr;
    CacheSlot* set = &cache[2 * (seq & (cache.size() / 2 - 1))];
    for (int way = 0; way < 2; way++) {
      if (set[way].seq == seq) {
        set[way].hot = true;
        return &set[way].node;
      }
    }
    return nullptr;
  }
  // REQUIRES: cache_mu held. Caches node at seq; returns the node it evicted (for the caller to
  // release after the lock).
  NodePtr CachePutLocked(uint64_t seq, NodePtr node) {
    const bool over = OverNodeBudget();
    if (cache.empty()) cache.resize(std::min<size_t>(over ? 2 : 1024, MaxCache()));
    if (++cache_inserts > cache.size() && cache.size() < MaxCache() && !over) GrowCache();
    CacheSlot* set = &cache[2 * (seq & (cache.size() / 2 - 1))];
    CacheSlot* victim = nullptr;
    for (int way = 0; way < 2 && victim == nullptr; way++) {
      if (set[way].seq == seq || (set[way].seq == 0 && !over)) victim = &set[way];
    }
    for (int way = 0; way < 2 && victim == nullptr; way++) {
      if (set[way].seq != 0 && !set[way].hot) victim = &set[way];
    }
    if (victim == nullptr) {
      if (set[0].seq == 0 && set[1].seq == 0) return nullptr;  // over the budget: not cached
      // Both hot: both cool down, and the newer one's neighbour goes (an empty way is not
      // filled past the budget).
      set[0].hot = set[1].hot = false;
      victim = set[seq & 1].seq != 0 ? &set[seq & 1] : &set[1 - (seq & 1)];
    }
    const bool had = victim->node != nullptr;
    NodePtr evicted = std::move(victim->node);
    victim->seq = seq;
    victim->hot = false;
    victim->node = std::move(node);
    if (victim->node && !had) {
      g_cached_nodes.fetch_add(1, std::memory_order_relaxed);
    } else if (!victim->node && had) {
      g_cached_nodes.fetch_sub(1, std::memory_order_relaxed);
    }
    return evicted;
  }
  // Reads and decodes the node at seq from the log (no cache; no lock needed).
  Result<NodePtr> ReadNode(uint64_t seq) const {
    auto block = log->Get(seq);
    if (!block.ok()) return block.status().Annotate("reading trie node " + std::to_string(seq));
    return Node::DecodeShared(*block, seq, options.limits);
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
    size_t dropped = 0;
    for (CacheSlot& slot : cache) {
      if (!slot.node) continue;
      CacheSlot* set = &bigger[2 * (slot.seq & (sets - 1))];
      CacheSlot* to = set[0].node ? &set[1] : &set[0];
      if (!to->node) {
        *to = std::move(slot);
      } else {
        dropped++;
      }
    }
    g_cached_nodes.fetch_sub(dropped, std::memory_order_relaxed);
    cache = std::move(bigger);
    cache_inserts = 0;
  }

  std::mutex watch_mu;
  std::map<uint64_t, std::shared_ptr<WatchEntry>> watchers;
  uint64_t next_watch = 1;
  uint64_t listener = 0;
  // A check of the watchers is queued on the callbacks executor (appends meanwhile join it).
  std::atomic<bool> check_queued{false};

  ~TrieState() {
    if (listener != 0) log->RemoveListener(listener);
    size_t held = 0;
    for (const CacheSlot& slot : cache) held += slot.node ? 1 : 0;
    g_cached_nodes.fetch_sub(held, std::memory_order_relaxed);
  }
};

// A walk down the trie that takes the node cache's lock once and holds it, handing out raw
// pointers to cached nodes (no reference count touched per hop). Only a node missing from the
// cache drops the lock, while it is read from the log and decoded; before that, every node
// handed out so far is pinned (a reference taken), so that neither another thread nor this
// walk's own insert can free a node the caller still looks at. Nodes handed out stay valid
// until the walk ends. One walk per thread at a time; not reentrant (GetBySeq and CachePut
// would deadlock inside one).
class CachedWalk {
 public:
  explicit CachedWalk(TrieState& state) : state_(state), lock_(state.cache_mu) {}
  CachedWalk(const CachedWalk&) = delete;
  CachedWalk& operator=(const CachedWalk&) = delete;

  // The node at seq: nullptr for seq 0 and for a node with the empty key (as GetBySeq).
  Result<const Node*> Get(uint64_t seq) {
    if (seq < 1) return nullptr;
    const Node* node = nullptr;
    if (const NodePtr* cached = state_.CacheFindLocked(seq)) {
      node = cached->get();
      handed_.push_back(node);
    } else {
      PinHanded();
      lock_.unlock();
      auto read = state_.ReadNode(seq);
      lock_.lock();
      if (!read.ok()) return read.status();
      node = read->get();
      pins_.push_back(std::move(*read));
      pins_.push_back(state_.CachePutLocked(seq, pins_.back()));  // evicted: freed after the lock
    }
    if (node->key().empty()) return nullptr;
    return node;
  }

  // A shared reference to a node handed out by this walk (or null).
  NodePtr Share(const Node* node) {
    if (node == nullptr) return nullptr;
    if (const NodePtr* cached = state_.CacheFindLocked(node->seq());
        cached && cached->get() == node) {
      return *cached;
    }
    for (const NodePtr& pin : pins_) {
      if (pin.get() == node) return pin;
    }
    return nullptr;  // unreachable: every node handed out is cached or pinned
  }

 private:
  // Takes a reference to every node handed out since the last pin (they are all in the cache:
  // the lock has been held since they were handed out, and this walk inserts only after this).
  void PinHanded() {
    for (const Node* node : handed_) {
      const NodePtr* cached = state_.CacheFindLocked(node->seq());
      if (cached != nullptr && cached->get() == node) pins_.push_back(*cached);
    }
    handed_.clear();
  }

  TrieState& state_;
  std::vector<NodePtr> pins_;  // destroyed after the lock is released (declared before it)
  std::unique_lock<std::mutex> lock_;
  SmallVector<const Node*, 16> handed_;
};

}  // namespace hyper::trie
