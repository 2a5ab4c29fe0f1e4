// The pure, sans-IO parts of hypertrie 5: the node record stored in each block of a trie's feed,
// its hash path, the compact "trie" index of a node, and the header block 0.
// The byte layouts are described in docs/formats/hypertrie.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/util/bytes.h"
#include "hyper/util/small_vector.h"
#include "hyper/util/status.h"

namespace hyper::trie {

// Internal flag bits of Node::raw_flags. User flags live above bit 8.
constexpr uint64_t kFlagHidden = 1;
constexpr int kUserFlagsShift = 8;

// Limits of the node decoder (a node is one block of at most 8 MiB).
struct NodeLimits {
  size_t max_key_bytes = 1 << 20;
  // The reference encodes the trie index into a fixed 64 KiB buffer.
  size_t max_trie_bytes = 64 * 1024;
  // Bucket slots are digit + 5k; a bucket bitfield covers at most 32 slots.
  size_t max_bucket_slots = 32;
};

// One bucket of the trie index: slot j holds a seq (0 = empty). Slot j refers to a node whose
// digit at this position is j % 5; slots >= 5 hold hash collisions. A view into a TrieIndex.
using Bucket = std::span<const uint64_t>;

// The trie index of a node: position i (0 = the hidden bit, then two bits of hash per position,
// then the terminator) -> bucket. Stored flat (the positions in order, their slots in one
// array): a decoded node costs two allocations however deep it sits, and a few bytes a slot.
class TrieIndex {
 public:
  // The array length the writer declared (the reference writes its JS array length). One past
  // the highest position for indexes we build.
  uint64_t declared_length = 0;

  // The bucket at position i (empty when there is none).
  Bucket at(size_t i) const {
    const Position* p = Find(i);
    return p == nullptr ? Bucket() : Bucket(slots_.data() + p->start, p->size);
  }
  // Adds seq at digit `val` of position i as the reference does: the first free slot among
  // val, val+5, ...; nothing if seq is already in the bucket.
  Status Push(size_t i, uint64_t val, uint64_t seq);
  // Replaces the bucket at position i (the decoder's way in).
  void Set(size_t i, Bucket slots);
  // Calls fn(position, bucket) for every non-empty bucket in position order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Position& p : positions_) {
      if (p.size != 0) fn(size_t{p.index}, Bucket(slots_.data() + p.start, p.size));
    }
  }
  // Number of non-empty buckets.
  size_t bucket_count() const;
  // The first position >= i with a non-empty bucket (SIZE_MAX when none).
  size_t NextPosition(size_t i) const;
  // The same from a cursor into the positions (for walks that move forward): advances *cursor
  // past the positions below i and the empty ones, and returns the position it stops at.
  size_t NextPosition(size_t i, size_t* cursor) const {
    while (*cursor < positions_.size() &&
           (positions_[*cursor].index < i || positions_[*cursor].size == 0)) {
      ++*cursor;
    }
    return *cursor < positions_.size() ? positions_[*cursor].index : SIZE_MAX;
  }
  // The bucket at the cursor's position.
  Bucket BucketAtCursor(size_t cursor) const {
    const Position& p = positions_[cursor];
    return Bucket(slots_.data() + p.start, p.size);
  }

 private:
  struct Position {
    uint32_t index;
    uint32_t start;  // into slots_
    uint32_t size;   // slots (the last one non-zero for indexes we build)
  };
  const Position* Find(size_t i) const;
  // The position i, inserted (empty) if absent.
  Position& Ensure(size_t i);
  // Grows position p's slots to `size`, shifting the slots of later positions.
  void Grow(Position& p, uint32_t size);

  // Inline room for the index of a typical node (a drive of a million files averages about
  // ten positions and forty slots), so that a lookup finds it next to the node.
  SmallVector<Position, 12> positions_;  // sorted by index
  SmallVector<uint64_t, 40> slots_;
};

// The varint encoding of a trie index (see docs): len, then for each present bucket
// index, bitfield, seqs.
Bytes EncodeTrieIndex(const TrieIndex& index);
Result<TrieIndex> DecodeTrieIndex(ByteView in, const NodeLimits& limits = {});
// The same into `index` (REQUIRES: empty), without moving the decoded index around.
Status DecodeTrieIndexInto(ByteView in, TrieIndex& index, const NodeLimits& limits = {});

// Strips one leading '/' (the reference's normalizeKey).
std::string NormalizeKey(std::string_view key);
// The key's segments: split on '/', dropping one empty segment at each end.
std::vector<std::string> SplitKey(std::string_view normalized_key);
// Segment j of SplitKey(normalized_key), without building the list (nullopt past the end).
std::optional<std::string_view> KeySegment(std::string_view normalized_key, size_t j);
// 8 bytes of SipHash-2-4 (all-zero 16-byte key) per segment of a normalized key.
Bytes HashKey(std::string_view normalized_key);

class Node {
 public:
  // A fresh node (for put/get/del): normalizes the key and computes its hash path.
  Node(std::string_view key, std::optional<Bytes> value, uint64_t raw_flags);
  // Decodes the block at `seq`. Trie entries must point below seq (they point back in time).
  static Result<Node> Decode(ByteView block, uint64_t seq, const NodeLimits& limits = {});
  // The same, decoded in place in one shared allocation (what a trie caches: a node is large
  // enough that moving it out of a Result and into the heap costs more than decoding it).
  static Result<std::shared_ptr<const Node>> DecodeShared(ByteView block, uint64_t seq,
                                                          const NodeLimits& limits = {});
  // The block as the reference's protocol-buffers encoder writes it.
  Bytes Encode() const;

  const std::string& key() const { return key_; }
  const std::optional<Bytes>& value() const { return value_; }
  uint64_t seq() const { return seq_; }
  uint64_t raw_flags() const { return raw_flags_; }
  bool hidden() const { return (raw_flags_ & kFlagHidden) != 0; }
  // The caller's flags (raw_flags >> 8).
  uint64_t flags() const { return raw_flags_ >> kUserFlagsShift; }
  const TrieIndex& trie() const { return trie_; }
  ByteView hash() const { return hash_.view(); }

  // Number of positions: 1 (hidden bit) + 4 per hash byte + 1 (terminator).
  size_t length() const { return hash_.size() * 4 + 2; }
  // The digit at position i: 0/1 for the hidden bit, 0..3 for hash bits, 4 past the end.
  uint32_t path(size_t i) const {
    if (i == 0) return hidden() ? 1 : 0;
    i--;
    size_t j = i >> 2;
    if (j >= hash_.size()) return 4;
    return (hash_[j] >> (2 * (i & 3))) & 3;
  }
  // Whether `other`, which has the same digits up to i, is a different key at position i
  // (only meaningful at a terminator or the last position).
  bool Collides(const Node& other, size_t i) const;
  // Positions 32, 64, ...: the last digit of a segment's hash, where collisions are checked.
  static bool IsTerminator(size_t i) { return i > 0 && (i & 31) == 0; }

  void set_seq(uint64_t seq) { seq_ = seq; }
  TrieIndex& mutable_trie() { return trie_; }

 private:
  struct EmptyTag {
    explicit EmptyTag() = default;
  };

 public:
  // An empty node (for DecodeShared's make_shared; EmptyTag is private).
  explicit Node(EmptyTag /*tag*/) {}

 private:
  Node() = default;
  void ComputeHash();
  // Decodes block into this (empty) node.
  Status DecodeInto(ByteView block, uint64_t seq, const NodeLimits& limits);

  std::string key_;
  std::optional<Bytes> value_;
  uint64_t seq_ = 0;
  uint64_t raw_flags_ = 0;
  TrieIndex trie_;
  SmallVector<uint8_t, 32> hash_;  // 8 bytes a segment
};

using NodePtr = std::shared_ptr<const Node>;

// Block 0 of a trie's feed.
struct Header {
  std::string type = "hypertrie";
  std::optional<Bytes> metadata;
  std::optional<std::string> subtype;

  Bytes Encode() const;
  static Result<Header> Decode(ByteView block);
};

}  // namespace hyper::trie
