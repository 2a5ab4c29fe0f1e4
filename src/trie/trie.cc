#include "hyper/trie/trie.h"

#include <algorithm>
#include <bit>

#include "hyper/runtime/runtime.h"
#include "trie_state.h"

namespace hyper::trie {

namespace {

uint64_t SlotOf(Bucket bucket, size_t j) { return j < bucket.size() ? bucket[j] : 0; }

// The first seq in the bucket outside slot `val` (the reference's firstSeq in del).
uint64_t FirstSeqExcept(Bucket bucket, size_t val) {
  for (size_t i = 0; i < bucket.size(); i++) {
    if (i == val) continue;
    if (bucket[i] != 0) return bucket[i];
  }
  return 0;
}

}  // namespace

struct Trie::BatchCtx {
  uint64_t offset = 0;
  std::vector<std::shared_ptr<const Node>> nodes;
  NodePtr head;
};

Trie::Trie(std::shared_ptr<TrieState> state, uint64_t checkout)
    : state_(std::move(state)), checkout_(checkout) {}

Trie::~Trie() = default;

void SetProcessNodeBudget(size_t nodes) { g_node_budget.store(nodes, std::memory_order_relaxed); }

size_t ProcessCachedNodes() { return g_cached_nodes.load(std::memory_order_relaxed); }

Result<std::unique_ptr<Trie>> Trie::Open(std::shared_ptr<Log> log, TrieOptions options) {
  if (!log) return Status::InvalidArgument("Trie::Open without a log");
  auto state = std::make_shared<TrieState>();
  state->log = std::move(log);
  state->options = std::move(options);
  if (state->options.cache_size < 2) state->options.cache_size = 2;
  if (state->log->length() == 0 && state->log->writable()) {
    Header header;
    header.metadata = state->options.metadata;
    header.subtype = state->options.subtype;
    Bytes block = header.Encode();
    ByteView view(block);
    auto appended = state->log->Append(std::span<const ByteView>(&view, 1));
    if (!appended.ok()) return appended.status().Annotate("writing the trie header");
  }
  return std::unique_ptr<Trie>(new Trie(std::move(state), 0));
}

uint64_t Trie::version() const { return checkout_ != 0 ? checkout_ : state_->log->length(); }
bool Trie::writable() const { return checkout_ == 0 && state_->log->writable(); }
Bytes Trie::key() const { return state_->log->key(); }
const std::shared_ptr<Log>& Trie::log() const { return state_->log; }

Result<Header> Trie::ReadHeader() const {
  ASSIGN_OR_RETURN(Bytes block, state_->log->Get(0));
  return Header::Decode(block);
}

Result<std::optional<Bytes>> Trie::GetMetadata() const {
  ASSIGN_OR_RETURN(Header header, ReadHeader());
  return header.metadata;
}

uint64_t Trie::HeadSeq() const {
  if (checkout_ != 0) return checkout_ - 1;
  uint64_t len = state_->log->length();
  return len < 2 ? 0 : len - 1;
}

Result<NodePtr> Trie::GetBySeq(uint64_t seq) const {
  if (seq < 1) return NodePtr();
  NodePtr node = state_->CacheGet(seq);
  if (!node) {
    ASSIGN_OR_RETURN(node, state_->ReadNode(seq));
    state_->CachePut(seq, node);
  }
  // The reference treats every node with the empty key as "nothing" (deletes that empty the
  // trie write one).
  if (node->key().empty()) return NodePtr();
  return node;
}

Result<NodePtr> Trie::Head() const { return GetBySeq(HeadSeq()); }

Result<NodePtr> Trie::Load(uint64_t seq, BatchCtx* batch) const {
  if (batch != nullptr && seq >= batch->offset && seq - batch->offset < batch->nodes.size()) {
    return batch->nodes[seq - batch->offset];
  }
  return GetBySeq(seq);
}

std::unique_ptr<Trie> Trie::Clone() const {
  return std::unique_ptr<Trie>(new Trie(state_, checkout_));
}

std::unique_ptr<Trie> Trie::Checkout(uint64_t version) const {
  if (version == 0) version = 1;
  return std::unique_ptr<Trie>(new Trie(state_, version));
}

// ----------------------------------------------------------------------------------------
// get

namespace {

// The 8 bytes of hash segment s, little-endian: digit k of the segment (position 32s + 1 + k)
// is bits 2k and 2k+1.
uint64_t SegmentWord(ByteView hash, size_t s) {
  uint64_t w = 0;
  for (size_t b = 0; b < 8; b++) w |= uint64_t{hash[8 * s + b]} << (8 * b);
  return w;
}

// The first position p in [i, end) that a lookup of `node` must look at in `head`: where their
// digits differ, or a terminator (where colliding keys are told apart). end when there is none.
// Every other position is one where the lookup only moves on, so skipping them changes nothing;
// a segment's digits are compared 32 at a time.
size_t NextToCheck(const Node& node, const Node& head, size_t i, size_t end) {
  if (i >= end) return end;
  if (i == 0) {
    if (node.path(0) != head.path(0)) return 0;
    i = 1;
  }
  const ByteView a = node.hash();
  const ByteView b = head.hash();
  const size_t s = (i - 1) / 32;
  if (8 * s + 8 > a.size() || 8 * s + 8 > b.size()) return i;  // past a hash: one at a time
  const uint64_t diff = (SegmentWord(a, s) ^ SegmentWord(b, s)) >> (2 * ((i - 1) & 31));
  // The first differing digit, else the segment's terminator (32s + 32).
  const size_t p = diff != 0 ? i + static_cast<size_t>(std::countr_zero(diff)) / 2 : 32 * s + 32;
  return std::min(p, end);
}

// Asks for all of a node's memory at once (its flags, key, hash, trie index): the walk reads
// several of its cache lines, and a node just reached is mostly not in the CPU's caches, so
// the misses overlap instead of following one another.
void PrefetchNode(const Node& node) {
  const char* base = reinterpret_cast<const char*>(&node);
  for (size_t line = 0; line < sizeof(Node); line += 64) __builtin_prefetch(base + line);
}

}  // namespace

Result<NodePtr> Trie::GetWithLength(const Node& node, size_t length, bool closest) const {
  uint64_t head_seq = HeadSeq();
  if (head_seq == 0) return NodePtr();
  // One hold of the cache's lock for the whole walk (see CachedWalk), raw pointers per hop.
  CachedWalk walk(*state_);
  ASSIGN_OR_RETURN(const Node* head, walk.Get(head_seq));
  for (size_t i = 0; head != nullptr; i++) {
    i = NextToCheck(node, *head, i, length);
    if (i >= length) break;
    uint32_t val = node.path(i);
    bool check = Node::IsTerminator(i);
    if (head->path(i) == val && (!check || !node.Collides(*head, i))) continue;
    const Bucket bucket = head->trie().at(i);
    if (check) {
      const Node* found = nullptr;
      for (size_t j = val; j < bucket.size(); j += 5) {
        uint64_t seq = bucket[j];
        if (seq == 0) break;
        ASSIGN_OR_RETURN(const Node* n, walk.Get(seq));
        if (n != nullptr && !n->Collides(node, i)) found = n;
      }
      // (The reference means to return the closest node here but returns nothing.)
      if (found == nullptr) return NodePtr();
      head = found;
      continue;
    }
    uint64_t seq = SlotOf(bucket, val);
    if (seq == 0) return closest ? walk.Share(head) : NodePtr();
    ASSIGN_OR_RETURN(head, walk.Get(seq));
    if (head != nullptr) PrefetchNode(*head);
  }
  return walk.Share(head);
}

Result<NodePtr> Trie::Get(std::string_view key, GetOptions options) const {
  Node node(key, std::nullopt, options.hidden ? kFlagHidden : 0);
  return GetWithLength(node, node.length() - (options.prefix ? 1 : 0), options.closest);
}

// ----------------------------------------------------------------------------------------
// put

Result<NodePtr> Trie::PutLocked(Node fresh, NodePtr head, uint64_t del_seq,
                                const PutCondition& condition, bool closest_mode, BatchCtx* batch) {
  auto node = std::make_shared<Node>(std::move(fresh));
  TrieIndex& index = node->mutable_trie();
  auto push = [&](size_t i, uint64_t val, uint64_t seq) -> Status {
    if (seq == del_seq) return Status::Ok();
    return index.Push(i, val, seq);
  };

  const size_t length = node->length();
  NodePtr closest;  // where the search ended (the reference's _head)
  size_t i = 0;
  bool finished = head == nullptr;
  while (!finished) {
    bool moved = false;
    for (; i < length; i++) {
      const bool check = Node::IsTerminator(i);
      const uint32_t val = node->path(i);
      const Bucket bucket = head->trie().at(i);
      const uint32_t head_val = head->path(i);
      // Collision candidates are pushed after the head itself (the reference resolves them
      // asynchronously, after the synchronous pushes of this position).
      std::vector<std::pair<size_t, uint64_t>> deferred;
      for (size_t j = 0; j < bucket.size(); j++) {
        if (j == val && !check) continue;
        uint64_t seq = bucket[j];
        if (seq == 0) continue;
        if (!check) {
          RETURN_IF_ERROR(push(i, j, seq));
        } else if (seq != del_seq) {
          ASSIGN_OR_RETURN(NodePtr other, Load(seq, batch));
          if (other && other->Collides(*node, i)) deferred.emplace_back(j, seq);
        }
      }
      auto flush = [&]() -> Status {
        for (auto& [j, seq] : deferred) RETURN_IF_ERROR(push(i, j, seq));
        return Status::Ok();
      };
      if (head_val == val && (!check || !node->Collides(*head, i))) {
        RETURN_IF_ERROR(flush());
        continue;
      }
      RETURN_IF_ERROR(push(i, head_val, head->seq()));
      RETURN_IF_ERROR(flush());

      if (check) {
        NodePtr found;
        for (size_t j = val; j < bucket.size(); j += 5) {
          uint64_t seq = bucket[j];
          if (seq == 0) break;
          ASSIGN_OR_RETURN(NodePtr other, Load(seq, batch));
          if (other && !other->Collides(*node, i)) found = other;
        }
        head = found;
        i++;
        moved = true;
        break;
      }
      uint64_t seq = SlotOf(bucket, val);
      if (seq == 0) {
        closest = head;
        finished = true;
        break;
      }
      ASSIGN_OR_RETURN(head, Load(seq, batch));
      i++;
      moved = true;
      break;
    }
    if (finished) break;
    if (!moved) {
      closest = head;  // every position matched
      break;
    }
    if (!head) break;  // the reference stops without a closest node here
  }

  if (condition) {
    NodePtr existing = closest && closest->key() == node->key() ? closest : nullptr;
    ASSIGN_OR_RETURN(bool proceed, condition(closest_mode ? closest.get() : existing.get(), *node));
    if (!proceed) return NodePtr();
  }
  return Insert(node, batch);
}

Result<NodePtr> Trie::Insert(const std::shared_ptr<Node>& node, BatchCtx* batch) {
  if (batch != nullptr) {
    node->set_seq(batch->offset + batch->nodes.size());
    batch->nodes.push_back(node);
    return NodePtr(node);
  }
  uint64_t seq = state_->log->length();
  node->set_seq(seq);
  Bytes block = node->Encode();
  ByteView view(block);
  auto appended = state_->log->Append(std::span<const ByteView>(&view, 1));
  if (!appended.ok()) return appended.status().Annotate("appending a trie node");
  state_->CachePut(seq, node);
  return NodePtr(node);
}

Result<NodePtr> Trie::Put(std::string_view key, std::optional<Bytes> value,
                          const PutOptions& options) {
  if (!writable()) return Status::NotWritable("the trie is not writable");
  std::lock_guard lock(state_->write_mu);
  Node node(key, std::move(value),
            (options.flags << kUserFlagsShift) | (options.hidden ? kFlagHidden : 0));
  ASSIGN_OR_RETURN(NodePtr head, Head());
  return PutLocked(std::move(node), head, 0, options.condition, options.closest, nullptr);
}

// ----------------------------------------------------------------------------------------
// del

Result<NodePtr> Trie::DelLocked(std::string_view key, const DelOptions& options,
                                const NodePtr& start_head, BatchCtx* batch) {
  Node node(key, std::nullopt, options.hidden ? kFlagHidden : 0);
  auto terminate = [&](const NodePtr& at) -> Result<NodePtr> {
    if (options.condition && options.closest) {
      auto r = options.condition(at.get());
      if (!r.ok()) return r.status();
    }
    return NodePtr();
  };
  NodePtr head = start_head;
  if (!head) return terminate(nullptr);

  uint64_t closest_seq = 0;
  const size_t length = node.length();
  for (size_t i = 0; i < length; i++) {
    const uint32_t val = node.path(i);
    const Bucket bucket = head->trie().at(i);
    if (head->path(i) == val) {
      uint64_t c = FirstSeqExcept(bucket, val);
      if (c != 0) closest_seq = c;
      continue;
    }
    uint64_t seq = SlotOf(bucket, val);
    if (seq == 0) return terminate(head);
    closest_seq = head->seq();
    ASSIGN_OR_RETURN(head, Load(seq, batch));
    if (!head) return terminate(nullptr);
  }
  if (node.key() != head->key()) return terminate(head);

  NodePtr closest;
  if (closest_seq != 0) {
    ASSIGN_OR_RETURN(closest, Load(closest_seq, batch));
  }
  if (options.condition) {
    ASSIGN_OR_RETURN(bool proceed, options.condition(head.get()));
    if (!proceed) return NodePtr();
  }
  // The deleted node disappears by rewriting its closest neighbour (or an empty-key node when
  // there is none) with a trie that leaves the deleted seq out.
  bool hidden = closest ? closest->hidden() : head->hidden();
  uint64_t flags = closest ? closest->flags() : 0;
  Node splice(closest ? std::string_view(closest->key()) : std::string_view(),
              closest ? closest->value() : std::nullopt,
              (flags << kUserFlagsShift) | (hidden ? kFlagHidden : 0));
  return PutLocked(std::move(splice), start_head, head->seq(), nullptr, false, batch);
}

Result<NodePtr> Trie::Del(std::string_view key, const DelOptions& options) {
  if (!writable()) return Status::NotWritable("the trie is not writable");
  std::lock_guard lock(state_->write_mu);
  ASSIGN_OR_RETURN(NodePtr head, Head());
  return DelLocked(key, options, head, nullptr);
}

// ----------------------------------------------------------------------------------------
// batch

Result<std::vector<NodePtr>> Trie::Batch(std::span<const BatchOp> ops) {
  if (!writable()) return Status::NotWritable("the trie is not writable");
  std::lock_guard lock(state_->write_mu);
  BatchCtx ctx;
  ctx.offset = state_->log->length();
  ASSIGN_OR_RETURN(ctx.head, Head());
  for (const BatchOp& op : ops) {
    NodePtr written;
    if (op.type == BatchOp::Type::kDel) {
      DelOptions options;
      options.hidden = op.hidden;
      ASSIGN_OR_RETURN(written, DelLocked(op.key, options, ctx.head, &ctx));
    } else {
      Node node(op.key, op.value, (op.flags << kUserFlagsShift) | (op.hidden ? kFlagHidden : 0));
      ASSIGN_OR_RETURN(written, PutLocked(std::move(node), ctx.head, 0, nullptr, false, &ctx));
    }
    if (written) ctx.head = written;
  }
  std::vector<NodePtr> out(ctx.nodes.begin(), ctx.nodes.end());
  if (ctx.nodes.empty()) return out;
  std::vector<Bytes> blocks;
  blocks.reserve(ctx.nodes.size());
  for (const auto& n : ctx.nodes) blocks.push_back(n->Encode());
  std::vector<ByteView> views(blocks.begin(), blocks.end());
  auto appended = state_->log->Append(views);
  if (!appended.ok()) return appended.status().Annotate("appending a trie batch");
  for (const auto& n : ctx.nodes) state_->CachePut(n->seq(), n);
  return out;
}

// ----------------------------------------------------------------------------------------
// history

HistoryIterator::HistoryIterator(std::unique_ptr<Trie> trie, uint64_t next, uint64_t last,
                                 bool reverse)
    : trie_(std::move(trie)), next_(next), last_(last), reverse_(reverse) {}

HistoryIterator::~HistoryIterator() = default;

Result<NodePtr> HistoryIterator::Next() {
  if (done_ || next_ > last_) return NodePtr();
  uint64_t seq = reverse_ ? last_ : next_;
  if (reverse_) {
    if (last_ == 0)
      done_ = true;
    else
      last_--;
  } else {
    next_++;
  }
  ASSIGN_OR_RETURN(NodePtr node, trie_->GetBySeq(seq));
  if (!node) done_ = true;
  return node;
}

std::unique_ptr<HistoryIterator> Trie::History(HistoryOptions options) const {
  uint64_t gte = options.gte.value_or(1);
  auto head = Head();
  bool empty = !head.ok() || !*head;
  uint64_t lte = empty ? 0 : (*head)->seq();
  if (options.lte) lte = std::min(lte, *options.lte);
  auto it =
      std::unique_ptr<HistoryIterator>(new HistoryIterator(Clone(), gte, lte, options.reverse));
  if (empty) it->done_ = true;
  return it;
}

// ----------------------------------------------------------------------------------------
// watch

Watcher::~Watcher() {
  if (auto state = state_.lock()) {
    std::lock_guard lock(state->watch_mu);
    state->watchers.erase(id_);
  }
  std::lock_guard lock(entry_->mu);  // waits for a callback that runs (on another thread)
  entry_->cancelled = true;
}

namespace {

void CheckWatch(const Trie& trie, WatchEntry& entry) {
  std::lock_guard lock(entry.mu);
  if (entry.cancelled) return;
  GetOptions options;
  options.prefix = true;
  auto node = trie.Get(entry.prefix, options);
  uint64_t seq = node.ok() && *node ? (*node)->seq() : 0;
  if (seq > entry.closest) {
    entry.closest = seq;
    if (entry.on_change) entry.on_change();
  }
}

}  // namespace

std::unique_ptr<Watcher> Trie::Watch(std::string_view prefix, std::function<void()> on_change) {
  auto entry = std::make_shared<WatchEntry>();
  entry->prefix = std::string(prefix);
  entry->on_change = std::move(on_change);
  uint64_t id;
  {
    std::lock_guard lock(state_->watch_mu);
    id = state_->next_watch++;
    state_->watchers[id] = entry;
    if (state_->listener == 0) {
      std::weak_ptr<TrieState> weak = state_;
      // The appending thread (a writer, or the executor storing a replicated block) only
      // queues the check; the check reads the trie on the callbacks executor, in order for
      // each trie.
      state_->listener = state_->log->OnAppend([weak](uint64_t) {
        auto state = weak.lock();
        if (!state || state->check_queued.exchange(true)) return;
        runtime::Default().callbacks().Post(state.get(), [weak] {
          auto s = weak.lock();
          if (!s) return;
          s->check_queued = false;  // an append from now on queues another check
          std::vector<std::shared_ptr<WatchEntry>> entries;
          {
            std::lock_guard lock(s->watch_mu);
            for (auto& [k, e] : s->watchers) entries.push_back(e);
          }
          Trie latest(s, 0);
          for (auto& e : entries) CheckWatch(latest, *e);
        });
      });
    }
  }
  Trie latest(state_, 0);
  CheckWatch(latest, *entry);
  return std::unique_ptr<Watcher>(new Watcher(state_, id, entry));
}

}  // namespace hyper::trie
