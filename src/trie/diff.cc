// Diff of two versions: walks both tries side by side and skips every sub-trie the two share
// (same seq). Mirrors the reference's traversal order, including when it pairs nodes and when
// it resolves (rare) hash collisions, so that both list the differences in the same order.

#include "hyper/trie/trie.h"

namespace hyper::trie {

struct DiffIterator::Impl {
  struct Entry {
    size_t i = 0;
    NodePtr left;
    NodePtr right;
    bool skip = false;
  };
  struct Fetch {
    uint64_t seq;
    size_t index;
    bool left;
  };

  const Trie* left_trie = nullptr;
  const Trie* right_trie = nullptr;
  std::unique_ptr<Trie> keep_left;  // handles owned by the iterator
  std::unique_ptr<Trie> keep_right;
  DiffOptions options;
  std::vector<Entry> stack;

  Result<std::optional<DiffEntry>> Next();
  size_t PushStack(size_t len, size_t i) {
    if (stack.size() == len) stack.push_back({i, nullptr, nullptr, false});
    return len;
  }
  void MaybeCollides(size_t start, size_t end);
};

namespace {

uint64_t SeqOf(const NodePtr& n) { return n ? n->seq() : 0; }
bool Done(const NodePtr& n, size_t i) { return n && i >= n->length(); }
uint64_t SlotOf(Bucket bucket, size_t j) { return j < bucket.size() ? bucket[j] : 0; }
Bucket BucketOf(const NodePtr& n, size_t i) { return n ? n->trie().at(i) : Bucket(); }
bool NotInBucket(size_t val, uint64_t seq, Bucket bucket) {
  for (; val < bucket.size(); val += 5) {
    if (bucket[val] == seq) return false;
  }
  return true;
}
bool EntryCollides(const DiffIterator::Impl::Entry& e) {
  if (!e.left || !e.right || !Node::IsTerminator(e.i)) return false;
  return e.left->Collides(*e.right, e.i);
}
std::optional<DiffEntry> MakeEntry(const NodePtr& left, const NodePtr& right) {
  return DiffEntry{left ? left->key() : right->key(), left, right};
}

}  // namespace

void DiffIterator::Impl::MaybeCollides(size_t start, size_t end) {
  if (end - start == 1) {
    if (EntryCollides(stack[start])) {
      Entry moved{stack[start].i, nullptr, stack[start].right, stack[start].skip};
      stack[start].right = nullptr;
      stack.push_back(std::move(moved));
    }
    return;
  }
  // Several entries share a hash: re-pair them. The reference can spin forever here on some
  // inputs; we bound the number of revisits.
  size_t budget = (end - start) * (end - start) + 8;
  for (size_t i = start; i < end; i++) {
    if (!EntryCollides(stack[i]) && stack[i].left) continue;
    NodePtr right = stack[i].right;
    bool swapped = false;
    for (size_t j = start; j < end; j++) {
      if (stack[j].left) {
        stack[i].right = stack[j].right;
        stack[j].right = right;
        swapped = true;
        break;
      }
    }
    if (stack[i].right == right && stack[i].left) {
      Entry moved{stack[i].i, nullptr, right, stack[i].skip};
      stack[i].right = nullptr;
      stack.push_back(std::move(moved));
    }
    if (swapped && budget > 0) {
      budget--;
      i--;  // revisit: it might still collide (unsigned wrap-around is fine here)
    }
  }
}

Result<std::optional<DiffEntry>> DiffIterator::Impl::Next() {
  while (!stack.empty()) {
    Entry top = std::move(stack.back());
    stack.pop_back();
    const size_t i = top.i;
    const NodePtr left = top.left;
    const NodePtr right = top.right;
    if (top.skip || SeqOf(left) == SeqOf(right)) continue;

    const bool done_left = Done(left, i);
    const bool done_right = Done(right, i);
    if (done_left && done_right) return MakeEntry(left, right);
    if (!right && left && options.skip_right_null) continue;
    if (right && !left && options.skip_left_null) continue;

    const uint32_t left_val = left ? left->path(i) : 5;
    const uint32_t right_val = right ? right->path(i) : 6;
    const Bucket left_bucket = BucketOf(left, i);
    const Bucket right_bucket = BucketOf(right, i);

    // Nodes the reference loads asynchronously: they land after this position is processed.
    std::vector<Fetch> fetches;
    std::vector<std::pair<size_t, size_t>> needs_check;

    for (uint32_t j = 0; j < 5; j++) {
      const uint64_t left_seq = left_val == j ? left->seq() : 0;
      const uint64_t right_seq = right_val == j ? right->seq() : 0;
      const size_t len = stack.size();
      size_t left_len = len;
      size_t right_len = len;

      if (left_seq != right_seq) {
        if (!done_left && left_seq != 0 && NotInBucket(j, left_seq, right_bucket)) {
          size_t at = PushStack(left_len++, i + 1);
          stack[at].left = left;
        }
        if (!done_right && right_seq != 0 && NotInBucket(j, right_seq, left_bucket)) {
          size_t at = PushStack(right_len++, i + 1);
          stack[at].right = right;
        }
      }

      if (!done_left) {
        const bool push_left = !options.skip_right_null || SlotOf(right_bucket, j) != 0;
        for (size_t v = j; v < left_bucket.size(); v += 5) {
          const uint64_t seq = left_bucket[v];
          if (seq == 0) break;
          if (seq != right_seq && NotInBucket(j, seq, right_bucket)) {
            size_t at = PushStack(left_len++, i + 1);
            if (push_left || stack[at].right)
              fetches.push_back({seq, at, true});
            else
              stack[at].skip = true;
          }
        }
      }

      if (!done_right) {
        const bool push_right = !options.skip_left_null || SlotOf(left_bucket, j) != 0;
        for (size_t v = j; v < right_bucket.size(); v += 5) {
          const uint64_t seq = right_bucket[v];
          if (seq == 0) break;
          if (seq != left_seq && NotInBucket(j, seq, left_bucket)) {
            size_t at = PushStack(right_len++, i + 1);
            if (push_right || stack[at].left)
              fetches.push_back({seq, at, false});
            else
              stack[at].skip = true;
          }
        }
      }

      if (Node::IsTerminator(i) && stack.size() > len) {
        if (fetches.empty())
          MaybeCollides(len, stack.size());
        else
          needs_check.emplace_back(len, stack.size());
      }
    }

    for (const Fetch& f : fetches) {
      const Trie* from = f.left ? left_trie : right_trie;
      ASSIGN_OR_RETURN(NodePtr node, from->GetBySeq(f.seq));
      if (!node) continue;
      if (f.left)
        stack[f.index].left = std::move(node);
      else
        stack[f.index].right = std::move(node);
    }
    while (!needs_check.empty()) {
      auto [s, e] = needs_check.back();
      needs_check.pop_back();
      MaybeCollides(s, e);
    }

    if (done_left) return MakeEntry(left, nullptr);
    if (done_right) return MakeEntry(nullptr, right);
  }
  return std::optional<DiffEntry>();
}

DiffIterator::DiffIterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DiffIterator::~DiffIterator() = default;
Result<std::optional<DiffEntry>> DiffIterator::Next() { return impl_->Next(); }

Result<std::unique_ptr<DiffIterator>> Trie::Diff(const Trie& other, std::string_view prefix,
                                                 DiffOptions options) const {
  auto impl = std::make_unique<DiffIterator::Impl>();
  impl->keep_left = Clone();
  impl->keep_right = other.Clone();
  impl->left_trie = impl->keep_left.get();
  impl->right_trie = impl->keep_right.get();
  impl->options = options;
  Node probe(prefix, std::nullopt, options.hidden ? kFlagHidden : 0);
  const size_t length = probe.length() - 1;
  ASSIGN_OR_RETURN(NodePtr a, GetWithLength(probe, length, false));
  ASSIGN_OR_RETURN(NodePtr b, other.GetWithLength(probe, length, false));
  impl->stack.push_back({length, a, b, false});
  return std::unique_ptr<DiffIterator>(new DiffIterator(std::move(impl)));
}

Result<std::unique_ptr<DiffIterator>> Trie::Diff(uint64_t other_version, std::string_view prefix,
                                                 DiffOptions options) const {
  std::unique_ptr<Trie> checkout = Checkout(other_version);
  return Diff(*checkout, prefix, options);
}

}  // namespace hyper::trie
