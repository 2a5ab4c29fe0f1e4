// Internal: the state shared by a trie and its checkouts.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

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

  // Decoded nodes by seq: two generations, the older dropped when the newer fills up.
  std::mutex cache_mu;
  std::unordered_map<uint64_t, std::shared_ptr<const Node>> cache_new;
  std::unordered_map<uint64_t, std::shared_ptr<const Node>> cache_old;

  std::mutex watch_mu;
  std::map<uint64_t, std::shared_ptr<WatchEntry>> watchers;
  uint64_t next_watch = 1;
  uint64_t listener = 0;

  ~TrieState() {
    if (listener != 0) log->RemoveListener(listener);
  }

  std::shared_ptr<const Node> CacheGet(uint64_t seq) {
    std::lock_guard lock(cache_mu);
    auto it = cache_new.find(seq);
    if (it != cache_new.end()) return it->second;
    it = cache_old.find(seq);
    if (it == cache_old.end()) return nullptr;
    auto node = it->second;
    CachePutLocked(seq, node);
    return node;
  }
  void CachePut(uint64_t seq, std::shared_ptr<const Node> node) {
    std::lock_guard lock(cache_mu);
    CachePutLocked(seq, std::move(node));
  }
  void CachePutLocked(uint64_t seq, std::shared_ptr<const Node> node) {
    if (cache_new.size() >= options.cache_size / 2 + 1) {
      cache_old = std::move(cache_new);
      cache_new.clear();
    }
    cache_new[seq] = std::move(node);
  }
};

}  // namespace hyper::trie
