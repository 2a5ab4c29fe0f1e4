// Iteration in the reference's order: a depth-first walk of the trie where, at each position,
// the node ending there (digit 4) comes first, then digits 0..3 (reversed with `reverse`).

#include <algorithm>
#include <limits>

#include "hyper/trie/trie.h"

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

  Result<NodePtr> Next();
};

namespace {
constexpr uint32_t kOrder[5] = {3, 2, 1, 0, 4};
constexpr uint32_t kReverseOrder[5] = {4, 0, 1, 2, 3};

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

Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Iterator::~Iterator() = default;

Result<NodePtr> Iterator::Next() { return impl_->Next(); }

Result<NodePtr> Iterator::Impl::Next() {
  while (!stack.empty()) {
    Entry top = std::move(stack.back());
    stack.pop_back();
    if (!top.node) continue;  // an empty-key node (the reference would fail here)
    const size_t len = std::min(top.node->length(), end);
    // A position where the node has no bucket only passes the node itself on to the next one:
    // go straight to the next position with a bucket (the one at `start` is processed as it
    // is, since `gt` may drop the node there).
    const TrieIndex& index = top.node->trie();
    const size_t next = index.NextPosition(top.i, &top.cursor);
    if (top.i > start || !gt) top.i = std::max(top.i, next);
    const size_t i = top.i++;
    if (i >= len) return top.node;

    const Bucket bucket = next == i ? index.BucketAtCursor(top.cursor) : Bucket();
    std::vector<std::pair<size_t, size_t>> needs_sort;
    for (size_t k = 0; k < 5; k++) {
      const uint32_t val = order[k];
      if (val == 4 && gt && i == start) continue;
      const size_t before = stack.size();
      if (top.node->path(i) == val) stack.push_back(top);
      for (size_t v = val; v < bucket.size(); v += 5) {
        uint64_t seq = bucket[v];
        if (seq == 0) continue;
        ASSIGN_OR_RETURN(NodePtr child, trie->GetBySeq(seq));
        // A well-formed trie only files a node under its own digit.
        if (child && child->path(i) != val) {
          return Status::Corruption("trie node " + std::to_string(top.node->seq()) +
                                    " files node " + std::to_string(seq) + " under digit " +
                                    std::to_string(val) + " at position " + std::to_string(i));
        }
        stack.push_back({i + 1, std::move(child), 0});
      }
      if (stack.size() - before > 1) needs_sort.emplace_back(before, stack.size());
    }
    for (auto it = needs_sort.rbegin(); it != needs_sort.rend(); ++it) {
      bool all = true;
      for (size_t x = it->first; x < it->second; x++) all = all && stack[x].node != nullptr;
      if (all) SortRange(stack, it->first, it->second);
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
