#include "hyper/trie/node.h"

#include <sodium.h>

#include <algorithm>

#include "hyper/util/protobuf.h"
#include "hyper/util/varint.h"

namespace hyper::trie {

Status TrieIndex::Push(size_t i, uint64_t val, uint64_t seq) {
  val %= 5;
  if (buckets.size() <= i) buckets.resize(i + 1);
  if (declared_length < buckets.size()) declared_length = buckets.size();
  Bucket& bucket = buckets[i];
  while (bucket.size() > val && bucket[val] != 0) val += 5;
  if (std::find(bucket.begin(), bucket.end(), seq) != bucket.end()) return Status::Ok();
  if (val >= 31) return Status::Internal("too many hash collisions in one trie bucket");
  if (bucket.size() <= val) bucket.resize(val + 1, 0);
  bucket[val] = seq;
  return Status::Ok();
}

Bytes EncodeTrieIndex(const TrieIndex& index) {
  Bytes out;
  AppendVarint(out, index.declared_length);
  for (size_t i = 0; i < index.buckets.size(); i++) {
    const Bucket& bucket = index.buckets[i];
    if (bucket.empty()) continue;
    uint64_t bitfield = 0;
    for (size_t j = 0; j < bucket.size(); j++) {
      if (bucket[j] != 0) bitfield |= uint64_t{1} << j;
    }
    AppendVarint(out, i);
    AppendVarint(out, bitfield);
    for (uint64_t seq : bucket) {
      if (seq != 0) AppendVarint(out, seq);
    }
  }
  return out;
}

Result<TrieIndex> DecodeTrieIndex(ByteView in, const NodeLimits& limits) {
  if (in.size() > limits.max_trie_bytes) {
    return Status::Corruption("trie index of " + std::to_string(in.size()) + " bytes is too big");
  }
  TrieIndex index;
  size_t pos = 0;
  size_t n = 0;
  auto next = [&]() -> Result<uint64_t> {
    auto r = DecodeVarint(in.subspan(pos), &n);
    if (!r.ok()) return r.status().Annotate("trie index");
    pos += n;
    return r;
  };
  if (in.empty()) return index;  // the reference would read len 0 from an empty buffer
  ASSIGN_OR_RETURN(index.declared_length, next());
  while (pos < in.size()) {
    ASSIGN_OR_RETURN(uint64_t i, next());
    ASSIGN_OR_RETURN(uint64_t bitfield, next());
    // Every position costs at least two bytes of input, so this bounds the allocation.
    if (i >= limits.max_trie_bytes * 4) {
      return Status::Corruption("trie index position " + std::to_string(i) + " is out of range");
    }
    if (bitfield >> limits.max_bucket_slots) {
      return Status::Corruption("trie bucket bitfield " + std::to_string(bitfield) + " too wide");
    }
    if (index.buckets.size() <= i) index.buckets.resize(i + 1);
    Bucket& bucket = index.buckets[i];
    bucket.clear();
    for (size_t j = 0; bitfield != 0; j++, bitfield >>= 1) {
      if ((bitfield & 1) == 0) continue;
      ASSIGN_OR_RETURN(uint64_t seq, next());
      if (bucket.size() <= j) bucket.resize(j + 1, 0);
      bucket[j] = seq;
    }
  }
  return index;
}

std::string NormalizeKey(std::string_view key) {
  if (!key.empty() && key[0] == '/') key.remove_prefix(1);
  return std::string(key);
}

std::vector<std::string> SplitKey(std::string_view key) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) {
      out.emplace_back(key.substr(start));
      break;
    }
    out.emplace_back(key.substr(start, slash - start));
    start = slash + 1;
  }
  if (!out.empty() && out.front().empty()) out.erase(out.begin());
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

Bytes HashSegments(const std::vector<std::string>& segments) {
  static const unsigned char kZeroKey[crypto_shorthash_siphash24_KEYBYTES] = {};
  Bytes out(segments.size() * 8);
  for (size_t i = 0; i < segments.size(); i++) {
    const std::string& s = segments[i];
    crypto_shorthash_siphash24(out.data() + i * 8, reinterpret_cast<const unsigned char*>(s.data()),
                               s.size(), kZeroKey);
  }
  return out;
}

Node::Node(std::string_view key, std::optional<Bytes> value, uint64_t raw_flags)
    : key_(NormalizeKey(key)), value_(std::move(value)), raw_flags_(raw_flags) {
  ComputeHash();
}

void Node::ComputeHash() {
  segments_ = SplitKey(key_);
  hash_ = HashSegments(segments_);
}

bool Node::Collides(const Node& other, size_t i) const {
  if (i == 0) return false;
  if (i == length() - 1) return key_ != other.key_;
  size_t j = (i - 1) / 32;
  const std::string* a = j < segments_.size() ? &segments_[j] : nullptr;
  const std::string* b = j < other.segments_.size() ? &other.segments_[j] : nullptr;
  if (a == nullptr || b == nullptr) return a != b;
  return *a != *b;
}

Result<Node> Node::Decode(ByteView block, uint64_t seq, const NodeLimits& limits) {
  Node node;
  node.seq_ = seq;
  bool have_key = false;
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
        auto index = DecodeTrieIndex(f.bytes, limits);
        if (!index.ok()) return index.status().Annotate("trie node " + std::to_string(seq));
        node.trie_ = std::move(*index);
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
  for (const Bucket& bucket : node.trie_.buckets) {
    for (uint64_t ref : bucket) {
      if (ref >= seq && ref != 0) {
        return Status::Corruption("trie node " + std::to_string(seq) + " points forward to " +
                                  std::to_string(ref));
      }
    }
  }
  // The reference applies normalizeKey to decoded keys too.
  if (!node.key_.empty() && node.key_[0] == '/') node.key_.erase(0, 1);
  node.ComputeHash();
  return node;
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
