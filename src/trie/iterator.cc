// Iteration in the reference's order: a depth-first walk of the trie where, at each position,
// the node ending there (digit 4) comes first, then digits 0..3 (reversed with `reverse`).

#include <algorithm>
#include <limits>

#include "hyper/trie/trie.h"
#include "trie_state.h"

namespace hyper::trie {

struct Iterator::Impl {
  struct Entry {
    size_t i;
    NodePtr node;
    size_t cursor = 0;  // into the node's trie positions, moving forward with i
  };
  const Trie* trie = nullptr;
  std::unique_ptr<Trie> keep;  // a checkout the iterator owns, if any
  std::vector<Entry> stack;
  size_t start = 0;
  size_t end = 0;
  bool gt = false;
  const uint32_t* order = nullptr;

  std::vector<NodePtr> children;   // by bucket slot, for the position being expanded
  std::vector<const Node*> found;  // the same while they are fetched

  Result<NodePtr> Next();
  // children[v] = the node in slot v of `bucket` (null for an empty slot or an empty-key
  // node), for every slot unless skip_ends (then not the digit 4 ones). Corruption when a
  // child is not filed under its own digit at position i.
  Status LoadChildren(Bucket bucket, size_t i, bool skip_ends, uint64_t parent_seq);
};

namespace {
constexpr uint32_t kOrder[5] = {3, 2, 1, 0, 4};
constexpr uint32_t kReverseOrder[5] = {4, 0, 1, 2, 3};

// Asks for the memory of a node an iterator reads when it reaches it (key, seq, the trie
// index's positions and slots, the hash): all of it, a node is a few hundred bytes.
void Prefetch(const Node& node) {
  const char* base = reinterpret_cast<const char*>(&node);
  for (size_t line = 0; line < sizeof(Node); line += 64) __builtin_prefetch(base + line);
}

// Insertion sort of [from, to) so that the smallest key is popped first (the reference sorts
// collision siblings by key).
template <typename E>
void SortRange(std::vector<E>& list, size_t from, size_t to) {
  for (size_t i = from + 1; i < to; i++) {
    for (size_t j = i; j > from; j--) {
      E& a = list[j];
      E& b = list[j - 1];
      if (a.node->key() <= b.node->key()) break;
      std::swap(a, b);
    }
  }
}
}  // namespace

Status Iterator::Impl::LoadChildren(Bucket bucket, size_t i, bool skip_ends, uint64_t parent_seq) {
  children.clear();
  children.resize(bucket.size());
  if (bucket.empty()) return Status::Ok();
  found.assign(bucket.size(), nullptr);
  {
    CachedWalk walk(*trie->state_);
    for (size_t v = 0; v < bucket.size(); v++) {
      if (bucket[v] == 0 || (skip_ends && v % 5 == 4)) continue;
      ASSIGN_OR_RETURN(found[v], walk.Get(bucket[v]));
      if (found[v] != nullptr) Prefetch(*found[v]);
    }
    for (size_t v = 0; v < bucket.size(); v++) {
      if (found[v] != nullptr) children[v] = walk.Share(found[v]);
    }
  }
  // A well-formed trie only files a node under its own digit (checked in the order the
  // children are pushed, so that the first wrong one is the one named).
  for (size_t k = 0; k < 5; k++) {
    const uint32_t val = order[k];
    for (size_t v = val; v < bucket.size(); v += 5) {
      const NodePtr& child = children[v];
      if (child && child->path(i) != val) {
        return Status::Corruption("trie node " + std::to_string(parent_seq) + " files node " +
                                  std::to_string(bucket[v]) + " under digit " +
                                  std::to_string(val) + " at position " + std::to_string(i));
      }
    }
  }
  return Status::Ok();
}

Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Iterator::~Iterator() = default;

Result<NodePtr> Iterator::Next() { return impl_->Next(); }

Result<NodePtr> Iterator::Impl::Next() {
  while (!stack.empty()) {
    Entry top = std::move(stack.back());
    stack.pop_back();
    if (!top.node) continue;  // an empty-key node (the reference would fail here)
    // Held by `top` until it is pushed back, then by the stack (the node does not move).
    const Node& node = *top.node;
    const size_t len = std::min(node.length(), end);
    // A position where the node has no bucket only passes the node itself on to the next one:
    // go straight to the next position with a bucket (the one at `start` is processed as it
    // is, since `gt` may drop the node there).
    const TrieIndex& index = node.trie();
    const size_t next = index.NextPosition(top.i, &top.cursor);
    if (top.i > start || !gt) top.i = std::max(top.i, next);
    const size_t i = top.i++;
    if (i >= len) return std::move(top.node);

    const Bucket bucket = next == i ? index.BucketAtCursor(top.cursor) : Bucket();
    const uint32_t own = node.path(i);
    const uint64_t own_seq = node.seq();
    // The children filed here, fetched under one hold of the node cache's lock and prefetched
    // together (their memory is mostly not in the CPU's caches yet: one miss after another was
    // most of a walk's time), then checked and shared.
    const bool skip_ends = gt && i == start;  // the digit 4 group is left out at the start
    RETURN_IF_ERROR(LoadChildren(bucket, i, skip_ends, own_seq));
    Entry* self = &top;  // until pushed
    // Runs of siblings pushed under one digit (at most one a digit) that may need sorting.
    std::pair<size_t, size_t> needs_sort[5];
    size_t sorts = 0;
    for (size_t k = 0; k < 5; k++) {
      const uint32_t val = order[k];
      if (val == 4 && skip_ends) continue;
      const size_t before = stack.size();
      if (own == val && self != nullptr) {  // one digit is its own: pushed once
        stack.push_back(std::move(*self));
        self = nullptr;
      }
      for (size_t v = val; v < bucket.size(); v += 5) {
        if (bucket[v] == 0) continue;
        stack.push_back({i + 1, std::move(children[v]), 0});
      }
      if (stack.size() - before > 1) needs_sort[sorts++] = {before, stack.size()};
    }
    for (size_t r = sorts; r-- > 0;) {
      bool all = true;
      for (size_t x = needs_sort[r].first; x < needs_sort[r].second; x++) {
        all = all && stack[x].node != nullptr;
      }
      if (all) SortRange(stack, needs_sort[r].first, needs_sort[r].second);
    }
  }
  return NodePtr();
}

Result<std::unique_ptr<Iterator>> Trie::Iterate(std::string_view prefix,
                                                IterateOptions options) const {
  auto impl = std::make_unique<Iterator::Impl>();
  impl->keep = Clone();
  impl->trie = impl->keep.get();
  impl->gt = options.gt;
  impl->order = options.reverse ? kReverseOrder : kOrder;
  Node probe(prefix, std::nullopt, options.hidden ? kFlagHidden : 0);
  const size_t prefix_length = probe.length() - 1;
  ASSIGN_OR_RETURN(NodePtr node, GetWithLength(probe, prefix_length, false));
  impl->start = prefix_length;
  impl->end = options.recursive ? std::numeric_limits<size_t>::max() : prefix_length + 32;
  impl->stack.reserve(64);
  if (node) impl->stack.push_back({prefix_length, node, 0});
  return std::unique_ptr<Iterator>(new Iterator(std::move(impl)));
}

Result<std::vector<NodePtr>> Trie::List(std::string_view prefix, IterateOptions options) const {
  ASSIGN_OR_RETURN(auto it, Iterate(prefix, options));
  std::vector<NodePtr> out;
  while (true) {
    ASSIGN_OR_RETURN(NodePtr node, it->Next());
    if (!node) break;
    out.push_back(std::move(node));
  }
  return out;
}

}  // namespace hyper::trie
