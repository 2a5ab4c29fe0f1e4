// hyper::trie::Trie — hypertrie 5.1, byte compatible with the Node reference: the same sequence
// of puts, deletes and batches appends the same blocks. See docs/formats/hypertrie.md.
//
// Thread safety: all methods may be called from any thread. Writes (Put, Del, Batch) are
// serialized by a lock shared with every checkout of the same trie; reads take no trie lock.
// Watch callbacks run on the runtime's callbacks executor (runtime::Runtime::callbacks()), never
// on the thread that appended: a callback that reads the trie (and so may wait for the
// network) holds up no append and no replication.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/trie/log.h"
#include "hyper/trie/node.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::core {
class Feed;
}

namespace hyper::trie {

struct TrieOptions {
  // Written into the header (block 0) when the log is new and writable. Hyperdrive stores its
  // content feed's key here.
  std::optional<Bytes> metadata;
  std::optional<std::string> subtype;
  // Decoded nodes kept in memory (shared by checkouts).
  size_t cache_size = 1 << 17;
  NodeLimits limits;
};

// The decoded nodes all tries of this process may keep cached together (each trie also stays
// within its own TrieOptions::cache_size). Unlimited unless set; a process that keeps many
// tries open (the daemon) sets it so that its memory does not grow with what its drives hold.
// Past it, tries stop adding nodes (reads still work, from the log).
void SetProcessNodeBudget(size_t nodes);
// The decoded nodes cached by every trie of this process now.
size_t ProcessCachedNodes();

struct GetOptions {
  // Look among hidden keys (a separate namespace: the hidden bit is the first trie digit).
  bool hidden = false;
  // When the key is absent, return the node where the search stopped instead of nothing.
  bool closest = false;
  // Match only the key's segments, not its terminator: returns any node at or below the key.
  bool prefix = false;
};

// Put condition: `existing` is the node with the same key (or, with PutOptions::closest, the
// node where the search stopped; null when none), `node` the one about to be written.
// Returning false skips the write (Put then returns null); an error aborts it.
using PutCondition = std::function<Result<bool>(const Node* existing, const Node& node)>;
// Del condition: called with the node about to be deleted; with DelOptions::closest also when
// the key is absent (with the node where the search stopped, or null), only to allow an error.
using DelCondition = std::function<Result<bool>(const Node* existing)>;

struct PutOptions {
  bool hidden = false;
  uint64_t flags = 0;  // the caller's flags (stored shifted left by 8)
  PutCondition condition;
  bool closest = false;
};

struct DelOptions {
  bool hidden = false;
  DelCondition condition;
  bool closest = false;
};

struct BatchOp {
  enum class Type { kPut, kDel };
  Type type = Type::kPut;
  std::string key;
  std::optional<Bytes> value;
  bool hidden = false;
  uint64_t flags = 0;

  static BatchOp Put(std::string key, std::optional<Bytes> value, bool hidden = false,
                     uint64_t flags = 0) {
    return {Type::kPut, std::move(key), std::move(value), hidden, flags};
  }
  static BatchOp Del(std::string key, bool hidden = false) {
    return {Type::kDel, std::move(key), std::nullopt, hidden, 0};
  }
};

struct IterateOptions {
  bool recursive = true;  // false: the prefix's direct children only (one node per child)
  bool reverse = false;
  bool gt = false;  // leave out the node whose key equals the prefix
  bool hidden = false;
};

struct DiffOptions {
  bool hidden = false;
  bool skip_left_null = false;
  bool skip_right_null = false;
};

// One difference: `left` is the node in the trie diff() was called on, `right` in the other
// one; either may be null (absent on that side).
struct DiffEntry {
  std::string key;
  NodePtr left;
  NodePtr right;
};

struct HistoryOptions {
  std::optional<uint64_t> gte;  // default 1
  std::optional<uint64_t> lte;  // default: the head
  bool reverse = false;
};

class Trie;
struct TrieState;

// Nodes in key-hash order (the reference's order), depth first. Iterators stay valid after the
// Trie they came from is destroyed.
class Iterator {
 public:
  ~Iterator();
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  // The next node, or null at the end.
  Result<NodePtr> Next();

  struct Impl;  // opaque (src/trie)

 private:
  friend class Trie;
  explicit Iterator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class DiffIterator {
 public:
  ~DiffIterator();
  DiffIterator(const DiffIterator&) = delete;
  DiffIterator& operator=(const DiffIterator&) = delete;
  // The next difference, or nullopt at the end.
  Result<std::optional<DiffEntry>> Next();

  struct Impl;  // opaque (src/trie)

 private:
  friend class Trie;
  explicit DiffIterator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class HistoryIterator {
 public:
  ~HistoryIterator();
  HistoryIterator(const HistoryIterator&) = delete;
  HistoryIterator& operator=(const HistoryIterator&) = delete;
  // The next node by seq, or null at the end (also at a node of the empty key, as the
  // reference stops there).
  Result<NodePtr> Next();

 private:
  friend class Trie;
  HistoryIterator(std::unique_ptr<Trie> trie, uint64_t next, uint64_t last, bool reverse);
  std::unique_ptr<Trie> trie_;
  uint64_t next_;
  uint64_t last_;
  bool reverse_;
  bool done_ = false;
};

struct WatchEntry;

// A live watch; destroying it stops the callbacks: once the destructor returns, none runs (it
// waits for one that is running, unless called from that callback).
class Watcher {
 public:
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

 private:
  friend class Trie;
  Watcher(std::weak_ptr<TrieState> state, uint64_t id, std::shared_ptr<WatchEntry> entry)
      : state_(std::move(state)), id_(id), entry_(std::move(entry)) {}
  std::weak_ptr<TrieState> state_;
  uint64_t id_;
  std::shared_ptr<WatchEntry> entry_;
};

class Trie {
 public:
  // Opens a trie over `log`; writes the header block when the log is empty and writable.
  static Result<std::unique_ptr<Trie>> Open(std::shared_ptr<Log> log, TrieOptions options = {});
  // The same over a hypercore feed.
  static Result<std::unique_ptr<Trie>> Open(std::shared_ptr<core::Feed> feed,
                                            TrieOptions options = {});

  ~Trie();
  Trie(const Trie&) = delete;
  Trie& operator=(const Trie&) = delete;

  // The log length, or the checkout version.
  uint64_t version() const;
  bool is_checkout() const { return checkout_ != 0; }
  bool writable() const;
  Bytes key() const;
  const std::shared_ptr<Log>& log() const;
  // Block 0.
  Result<Header> ReadHeader() const;
  // The header's metadata (nullopt when it has none).
  Result<std::optional<Bytes>> GetMetadata() const;

  // The node for `key`, or null.
  Result<NodePtr> Get(std::string_view key, GetOptions options = {}) const;
  // Writes key -> value (nullopt: a node without a value). Returns the node written, or null
  // when the condition declined.
  Result<NodePtr> Put(std::string_view key, std::optional<Bytes> value,
                      const PutOptions& options = {});
  // Deletes key. Returns the node written (the reference rewrites a neighbour without the
  // deleted key), or null when the key was absent or the condition declined.
  Result<NodePtr> Del(std::string_view key, const DelOptions& options = {});
  // Applies the operations in order and appends all nodes in one batch. Returns the nodes.
  Result<std::vector<NodePtr>> Batch(std::span<const BatchOp> ops);

  // The node at seq (null for seq 0 and for the empty-key nodes the reference writes when a
  // delete empties the trie).
  Result<NodePtr> GetBySeq(uint64_t seq) const;
  uint64_t HeadSeq() const;
  Result<NodePtr> Head() const;

  // A read-only view of the trie as it was at `version` (0 and 1 are the empty trie).
  std::unique_ptr<Trie> Checkout(uint64_t version) const;
  std::unique_ptr<Trie> Snapshot() const { return Checkout(version()); }

  Result<std::unique_ptr<Iterator>> Iterate(std::string_view prefix,
                                            IterateOptions options = {}) const;
  Result<std::vector<NodePtr>> List(std::string_view prefix, IterateOptions options = {}) const;

  // Differences between this trie (left) and `other` (right) below `prefix`.
  Result<std::unique_ptr<DiffIterator>> Diff(const Trie& other, std::string_view prefix = "",
                                             DiffOptions options = {}) const;
  // Against a checkout of this trie at `other_version`.
  Result<std::unique_ptr<DiffIterator>> Diff(uint64_t other_version, std::string_view prefix = "",
                                             DiffOptions options = {}) const;

  std::unique_ptr<HistoryIterator> History(HistoryOptions options = {}) const;

  // Calls on_change whenever the node closest to `prefix` changes (and once at the start when
  // something is there, as the reference does). Callbacks run on the appending thread.
  std::unique_ptr<Watcher> Watch(std::string_view prefix, std::function<void()> on_change);

 private:
  struct BatchCtx;
  Trie(std::shared_ptr<TrieState> state, uint64_t checkout);
  // Another handle on the same trie and version (iterators own one, so they stay valid).
  std::unique_ptr<Trie> Clone() const;
  Result<NodePtr> Load(uint64_t seq, BatchCtx* batch) const;
  Result<NodePtr> PutLocked(Node node, NodePtr head, uint64_t del_seq, const PutCondition& cond,
                            bool closest, BatchCtx* batch);
  Result<NodePtr> DelLocked(std::string_view key, const DelOptions& options, const NodePtr& head,
                            BatchCtx* batch);
  Result<NodePtr> Insert(const std::shared_ptr<Node>& node, BatchCtx* batch);
  Result<NodePtr> GetWithLength(const Node& node, size_t length, bool closest) const;

  friend struct Iterator::Impl;
  friend struct DiffIterator::Impl;

  std::shared_ptr<TrieState> state_;
  uint64_t checkout_;
};

}  // namespace hyper::trie
