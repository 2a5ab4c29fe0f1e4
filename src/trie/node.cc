#include "hyper/trie/node.h"

#include <sodium.h>

#include <algorithm>
#include <memory>

#include "hyper/util/protobuf.h"
#include "hyper/util/varint.h"

namespace hyper::trie {

const TrieIndex::Position* TrieIndex::Find(size_t i) const {
  auto it = std::lower_bound(positions_.begin(), positions_.end(), i,
                             [](const Position& p, size_t v) { return p.index < v; });
  return it != positions_.end() && it->index == i ? &*it : nullptr;
}

TrieIndex::Position& TrieIndex::Ensure(size_t i) {
  auto it = std::lower_bound(positions_.begin(), positions_.end(), i,
                             [](const Position& p, size_t v) { return p.index < v; });
  if (it != positions_.end() && it->index == i) return *it;
  // A new position starts where the slots of the positions before it end.
  uint32_t start = it == positions_.end() ? static_cast<uint32_t>(slots_.size()) : it->start;
  const size_t at = static_cast<size_t>(it - positions_.begin());
  positions_.insert(at, 1, Position{static_cast<uint32_t>(i), start, 0});
  return positions_[at];
}

void TrieIndex::Grow(Position& p, uint32_t size) {
  if (size <= p.size) return;
  const uint32_t extra = size - p.size;
  slots_.insert(p.start + p.size, extra, 0);
  for (Position& q : positions_) {
    if (q.index > p.index) q.start += extra;
  }
  p.size = size;
}

Status TrieIndex::Push(size_t i, uint64_t val, uint64_t seq) {
  val %= 5;
  if (declared_length < i + 1) declared_length = i + 1;
  Position& p = Ensure(i);
  uint64_t* slot = slots_.data() + p.start;
  while (p.size > val && slot[val] != 0) val += 5;
  if (std::find(slot, slot + p.size, seq) != slot + p.size) return Status::Ok();
  if (val >= 31) return Status::Internal("too many hash collisions in one trie bucket");
  Grow(p, static_cast<uint32_t>(val + 1));
  slots_[p.start + val] = seq;
  return Status::Ok();
}

void TrieIndex::Set(size_t i, Bucket bucket) {
  if (positions_.empty() || positions_[positions_.size() - 1].index < i) {
    // Past the last position (the decoder's usual case): append.
    positions_.push_back(Position{static_cast<uint32_t>(i), static_cast<uint32_t>(slots_.size()),
                                  static_cast<uint32_t>(bucket.size())});
    slots_.append(bucket.data(), bucket.size());
    return;
  }
  Position& p = Ensure(i);
  Grow(p, static_cast<uint32_t>(bucket.size()));
  std::fill(slots_.begin() + p.start, slots_.begin() + p.start + p.size, 0);
  std::copy(bucket.begin(), bucket.end(), slots_.begin() + p.start);
}

size_t TrieIndex::bucket_count() const {
  size_t n = 0;
  for (const Position& p : positions_) n += p.size != 0 ? 1 : 0;
  return n;
}

size_t TrieIndex::NextPosition(size_t i) const {
  auto it = std::lower_bound(positions_.begin(), positions_.end(), i,
                             [](const Position& p, size_t v) { return p.index < v; });
  for (; it != positions_.end(); ++it) {
    if (it->size != 0) return it->index;
  }
  return SIZE_MAX;
}

Bytes EncodeTrieIndex(const TrieIndex& index) {
  Bytes out;
  AppendVarint(out, index.declared_length);
  index.ForEach([&](size_t i, Bucket bucket) {
    uint64_t bitfield = 0;
    for (size_t j = 0; j < bucket.size(); j++) {
      if (bucket[j] != 0) bitfield |= uint64_t{1} << j;
    }
    if (bitfield == 0) return;
    AppendVarint(out, i);
    AppendVarint(out, bitfield);
    for (uint64_t seq : bucket) {
      if (seq != 0) AppendVarint(out, seq);
    }
  });
  return out;
}

Result<TrieIndex> DecodeTrieIndex(ByteView in, const NodeLimits& limits) {
  TrieIndex index;
  RETURN_IF_ERROR(DecodeTrieIndexInto(in, index, limits));
  return index;
}

Status DecodeTrieIndexInto(ByteView in, TrieIndex& index, const NodeLimits& limits) {
  if (in.size() > limits.max_trie_bytes) {
    return Status::Corruption("trie index of " + std::to_string(in.size()) + " bytes is too big");
  }
  if (in.empty()) return Status::Ok();  // the reference would read len 0 from an empty buffer
  const uint8_t* p = in.data();
  const uint8_t* const end = in.data() + in.size();
  // A malformed varint is reported as DecodeVarint words it.
  auto bad_varint = [&]() -> Status {
    size_t n = 0;
    return DecodeVarint(in.subspan(static_cast<size_t>(p - in.data())), &n)
        .status()
        .Annotate("trie index");
  };
  if (!DecodeVarint(&p, end, &index.declared_length)) return bad_varint();
  uint64_t bucket[64];
  while (p < end) {
    uint64_t i = 0;
    uint64_t bitfield = 0;
    if (!DecodeVarint(&p, end, &i)) return bad_varint();
    if (!DecodeVarint(&p, end, &bitfield)) return bad_varint();
    // Every position costs at least two bytes of input, so this bounds the allocation.
    if (i >= limits.max_trie_bytes * 4) {
      return Status::Corruption("trie index position " + std::to_string(i) + " is out of range");
    }
    if (limits.max_bucket_slots < 64 && (bitfield >> limits.max_bucket_slots) != 0) {
      return Status::Corruption("trie bucket bitfield " + std::to_string(bitfield) + " too wide");
    }
    size_t size = 0;
    for (size_t j = 0; bitfield != 0; j++, bitfield >>= 1) {
      bucket[j] = 0;
      if ((bitfield & 1) == 0) continue;
      if (!DecodeVarint(&p, end, &bucket[j])) return bad_varint();
      size = j + 1;
    }
    // A repeated position replaces the earlier one, as the reference's decoder does.
    index.Set(i, Bucket(bucket, size));
  }
  return Status::Ok();
}

std::string NormalizeKey(std::string_view key) {
  if (!key.empty() && key[0] == '/') key.remove_prefix(1);
  return std::string(key);
}

namespace {
// Calls fn(segment) for each segment of `key` in order, until fn returns false: the parts
// between slashes, without an empty first part (a leading slash) or an empty last part.
template <typename Fn>
void ForEachSegment(std::string_view key, Fn&& fn) {
  if (key.empty()) return;
  size_t start = key[0] == '/' ? 1 : 0;
  while (true) {
    const size_t slash = key.find('/', start);
    const size_t end = slash == std::string_view::npos ? key.size() : slash;
    if (slash == std::string_view::npos && end == start) return;  // an empty last part
    if (!fn(key.substr(start, end - start))) return;
    if (slash == std::string_view::npos) return;
    start = slash + 1;
  }
}

const unsigned char kZeroKey[crypto_shorthash_siphash24_KEYBYTES] = {};

// Appends the 8-byte SipHash of every segment of `key` to out (a Bytes or a SmallVector).
template <typename Out>
void HashKeyInto(std::string_view key, Out& out) {
  ForEachSegment(key, [&](std::string_view segment) {
    out.resize(out.size() + 8);
    crypto_shorthash_siphash24(out.data() + out.size() - 8,
                               reinterpret_cast<const unsigned char*>(segment.data()),
                               segment.size(), kZeroKey);
    return true;
  });
}
}  // namespace

std::vector<std::string> SplitKey(std::string_view key) {
  std::vector<std::string> out;
  ForEachSegment(key, [&](std::string_view segment) {
    out.emplace_back(segment);
    return true;
  });
  return out;
}

std::optional<std::string_view> KeySegment(std::string_view key, size_t j) {
  std::optional<std::string_view> found;
  size_t k = 0;
  ForEachSegment(key, [&](std::string_view segment) {
    if (k++ == j) found = segment;
    return !found;
  });
  return found;
}

Bytes HashKey(std::string_view key) {
  Bytes out;
  HashKeyInto(key, out);
  return out;
}

Node::Node(std::string_view key, std::optional<Bytes> value, uint64_t raw_flags)
    : key_(NormalizeKey(key)), value_(std::move(value)), raw_flags_(raw_flags) {
  ComputeHash();
}

void Node::ComputeHash() {
  hash_.clear();
  HashKeyInto(key_, hash_);
}

bool Node::Collides(const Node& other, size_t i) const {
  if (i == 0) return false;
  if (i == length() - 1) return key_ != other.key_;
  const size_t j = (i - 1) / 32;
  return KeySegment(key_, j) != KeySegment(other.key_, j);
}

Result<Node> Node::Decode(ByteView block, uint64_t seq, const NodeLimits& limits) {
  Node node;
  RETURN_IF_ERROR(node.DecodeInto(block, seq, limits));
  return node;
}

Result<std::shared_ptr<const Node>> Node::DecodeShared(ByteView block, uint64_t seq,
                                                       const NodeLimits& limits) {
  auto node = std::make_shared<Node>(EmptyTag());
  RETURN_IF_ERROR(node->DecodeInto(block, seq, limits));
  return std::shared_ptr<const Node>(std::move(node));
}

Status Node::DecodeInto(ByteView block, uint64_t seq, const NodeLimits& limits) {
  Node& node = *this;
  node.seq_ = seq;
  bool have_key = false;
  bool have_trie = false;
  pb::Limits pl;
  pl.max_fields = 64;
  pb::Reader reader(block, pl);
  pb::Field f;
  while (true) {
    auto more = reader.Next(&f);
    if (!more.ok()) return more.status().Annotate("trie node " + std::to_string(seq));
    if (!*more) break;
    auto want = [&](pb::WireType t) -> Status {
      if (f.type == t) return Status::Ok();
      return Status::Corruption("trie node " + std::to_string(seq) + ": field " +
                                std::to_string(f.number) + " has the wrong wire type");
    };
    switch (f.number) {
      case 1:
        RETURN_IF_ERROR(want(pb::WireType::kBytes));
        if (f.bytes.size() > limits.max_key_bytes) {
          return Status::Corruption("trie node " + std::to_string(seq) + ": key is too long");
        }
        node.key_ = std::string(AsString(f.bytes));
        have_key = true;
        break;
      case 2:
        RETURN_IF_ERROR(want(pb::WireType::kBytes));
        node.value_ = ToBytes(f.bytes);
        break;
      case 3: {
        RETURN_IF_ERROR(want(pb::WireType::kBytes));
        if (have_trie) node.trie_ = TrieIndex();  // a repeated field replaces the earlier one
        have_trie = true;
        Status index = DecodeTrieIndexInto(f.bytes, node.trie_, limits);
        if (!index.ok()) return index.Annotate("trie node " + std::to_string(seq));
        break;
      }
      case 4:
        RETURN_IF_ERROR(want(pb::WireType::kVarint));
        break;  // the stored seq is informative; the block index is authoritative
      case 5:
        RETURN_IF_ERROR(want(pb::WireType::kVarint));
        node.raw_flags_ = f.varint;
        break;
      default:
        break;  // unknown fields are skipped, as the reference does
    }
  }
  if (!have_key) return Status::Corruption("trie node " + std::to_string(seq) + " has no key");
  uint64_t forward = 0;
  node.trie_.ForEach([&](size_t, Bucket bucket) {
    for (uint64_t ref : bucket) {
      if (ref >= seq && ref != 0) forward = ref;
    }
  });
  if (forward != 0) {
    return Status::Corruption("trie node " + std::to_string(seq) + " points forward to " +
                              std::to_string(forward));
  }
  // The reference applies normalizeKey to decoded keys too.
  if (!node.key_.empty() && node.key_[0] == '/') node.key_.erase(0, 1);
  node.ComputeHash();
  return Status::Ok();
}

Bytes Node::Encode() const {
  pb::Writer w;
  w.String(1, key_);
  if (value_) w.BytesField(2, *value_);
  w.BytesField(3, EncodeTrieIndex(trie_));
  w.Varint(4, seq_);
  w.Varint(5, raw_flags_);
  return w.Take();
}

Bytes Header::Encode() const {
  pb::Writer w;
  w.String(1, type);
  if (metadata) w.BytesField(2, *metadata);
  if (subtype) w.String(3, *subtype);
  return w.Take();
}

Result<Header> Header::Decode(ByteView block) {
  Header h;
  h.type.clear();
  bool have_type = false;
  pb::Limits pl;
  pl.max_fields = 64;
  pb::Reader reader(block, pl);
  pb::Field f;
  while (true) {
    auto more = reader.Next(&f);
    if (!more.ok()) return more.status().Annotate("trie header");
    if (!*more) break;
    if (f.number >= 1 && f.number <= 3 && f.type != pb::WireType::kBytes) {
      return Status::Corruption("trie header: field " + std::to_string(f.number) +
                                " has the wrong wire type");
    }
    if (f.number == 1) {
      h.type = std::string(AsString(f.bytes));
      have_type = true;
    } else if (f.number == 2) {
      h.metadata = ToBytes(f.bytes);
    } else if (f.number == 3) {
      h.subtype = std::string(AsString(f.bytes));
    }
  }
  if (!have_type) return Status::Corruption("trie header has no type");
  return h;
}

}  // namespace hyper::trie
