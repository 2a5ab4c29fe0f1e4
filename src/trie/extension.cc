#include "hyper/trie/extension.h"

#include <algorithm>

#include "hyper/trie/log.h"
#include "hyper/trie/trie.h"
#include "hyper/util/protobuf.h"
#include "hyper/util/varint.h"

namespace hyper::trie {
namespace {

// A read-only log of `length` blocks that reads only what `read_local` has, and notes every seq
// asked for.
class RecordingLog final : public Log {
 public:
  RecordingLog(uint64_t length, const LocalRead& read_local)
      : length_(length), read_local_(read_local) {}

  uint64_t length() const override { return length_; }
  bool writable() const override { return false; }
  Bytes key() const override { return {}; }
  Result<Bytes> Get(uint64_t index) override {
    seqs_.push_back(index);
    std::optional<Bytes> block = read_local_(index);
    if (!block) return Status::NotFound("block " + std::to_string(index) + " is not local");
    return std::move(*block);
  }
  Result<uint64_t> Append(std::span<const ByteView> /*blocks*/) override {
    return Status::InvalidArgument("read-only log");
  }
  uint64_t OnAppend(AppendListener /*listener*/) override { return 0; }
  void RemoveListener(uint64_t /*handle*/) override {}

  const std::vector<uint64_t>& seqs() const { return seqs_; }

 private:
  uint64_t length_;
  const LocalRead& read_local_;
  std::vector<uint64_t> seqs_;
};

Status DecodeCache(ByteView in, ExtensionCache* out) {
  pb::Reader r(in);
  pb::Field f;
  bool has_start = false;
  bool has_end = false;
  auto add = [&](uint64_t seq) {
    if (out->blocks.size() < kMaxCacheBlocks) out->blocks.push_back(seq);
  };
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) break;
    if (f.number == 1 && f.type == pb::WireType::kVarint) {
      out->start = f.varint;
      has_start = true;
    } else if (f.number == 2 && f.type == pb::WireType::kVarint) {
      out->end = f.varint;
      has_end = true;
    } else if (f.number == 3 && f.type == pb::WireType::kVarint) {
      add(f.varint);
    } else if (f.number == 3 && f.type == pb::WireType::kBytes) {
      ByteView packed = f.bytes;
      while (!packed.empty()) {
        size_t used = 0;
        ASSIGN_OR_RETURN(uint64_t seq, DecodeVarint(packed, &used));
        add(seq);
        packed = packed.subspan(used);
      }
    } else if (f.number <= 3) {
      return Status::Corruption("hypertrie cache: field of the wrong type");
    }
  }
  if (!has_start || !has_end) return Status::Corruption("hypertrie cache without start or end");
  return Status::Ok();
}

Status DecodeGet(ByteView in, ExtensionGet* out) {
  pb::Reader r(in);
  pb::Field f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) break;
    if (f.number == 1 && f.type == pb::WireType::kVarint) {
      out->head = f.varint;
    } else if (f.number == 2 && f.type == pb::WireType::kBytes) {
      out->key = std::string(f.bytes.begin(), f.bytes.end());
    } else if (f.number <= 2) {
      return Status::Corruption("hypertrie get: field of the wrong type");
    }
  }
  return Status::Ok();
}

}  // namespace

Bytes EncodeExtensionGet(uint64_t head, std::string_view key) {
  pb::Writer get;
  get.Varint(1, head);
  get.String(2, key);
  pb::Writer w;
  w.Message(3, get);
  return w.Take();
}

Bytes EncodeExtensionCache(const ExtensionCache& cache) {
  pb::Writer c;
  c.Varint(1, cache.start);
  c.Varint(2, cache.end);
  if (!cache.blocks.empty()) {
    Bytes packed;
    for (uint64_t seq : cache.blocks) AppendVarint(packed, seq);
    c.BytesField(3, packed);
  }
  pb::Writer w;
  w.Message(1, c);
  return w.Take();
}

Result<ExtensionMessage> DecodeExtension(ByteView payload) {
  ExtensionMessage m;
  pb::Reader r(payload);
  pb::Field f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) break;
    if (f.number >= 1 && f.number <= 3 && f.type != pb::WireType::kBytes) {
      return Status::Corruption("hypertrie extension: field of the wrong type");
    }
    if (f.number == 1) {
      ExtensionCache c;
      RETURN_IF_ERROR(DecodeCache(f.bytes, &c));
      m.cache = std::move(c);
    } else if (f.number == 2) {
      m.iterator = true;
    } else if (f.number == 3) {
      ExtensionGet g;
      RETURN_IF_ERROR(DecodeGet(f.bytes, &g));
      m.get = std::move(g);
    }
  }
  return m;
}

std::vector<uint64_t> SeqsOfGet(uint64_t length, const LocalRead& read_local, uint64_t head,
                                std::string_view key) {
  if (head == 0 || head >= length) return {};
  auto recording = std::make_shared<RecordingLog>(length, read_local);
  TrieOptions options;
  options.cache_size = 64;  // one lookup: a few dozen nodes at most
  auto trie = Trie::Open(recording, std::move(options));
  if (!trie.ok()) return {};
  auto at = (*trie)->Checkout(head + 1);
  (void)at->Get(key);  // a missing block ends the walk; what it touched is noted either way
  return recording->seqs();
}

std::vector<Bytes> CacheMessages(const std::vector<uint64_t>& seqs) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < seqs.size(); i += kCacheBatch) {
    ExtensionCache c;
    c.blocks.assign(
        seqs.begin() + static_cast<std::ptrdiff_t>(i),
        seqs.begin() + static_cast<std::ptrdiff_t>(std::min(seqs.size(), i + kCacheBatch)));
    c.start = *std::min_element(c.blocks.begin(), c.blocks.end());
    c.end = *std::max_element(c.blocks.begin(), c.blocks.end()) + 1;
    out.push_back(EncodeExtensionCache(c));
  }
  return out;
}

}  // namespace hyper::trie
