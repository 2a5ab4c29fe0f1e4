// The file format of the store's leaf index (docs/dedup.md): what LeafIndex::Encode writes and
// LeafIndex::Decode checks before it believes any of it.
#include <cstring>
#include <string>

#include "hyper/corestore/leaf_index.h"

namespace hyper::corestore {
namespace {

constexpr char kMagic[8] = {'H', 'Y', 'L', 'E', 'A', 'F', 'X', '1'};
constexpr size_t kCoreBytes = 32 + 8 + 8;  // discovery key, covered length, covered downloaded
constexpr size_t kEntryBytes = 8 + 4 + 8;  // hash prefix, core id, block index
constexpr size_t kChecksumBytes = 32;
constexpr uint64_t kNoCoverage = ~uint64_t{0};
// Decoding refuses counts past these, whatever the file says.
constexpr uint64_t kMaxCores = uint64_t{1} << 24;
constexpr uint64_t kMaxEntries = uint64_t{1} << 28;

void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

crypto::Hash Checksum(ByteView bytes) {
  crypto::Hash h{};
  crypto::Blake2b(h, {bytes});
  return h;
}

Status Bad(const std::string& what) {
  return Status::Corruption("the store's dedup index is damaged: " + what);
}

}  // namespace

Bytes LeafIndex::Encode() const {
  std::lock_guard lock(mu_);
  Bytes out(kMagic, kMagic + sizeof(kMagic));
  out.reserve(out.size() + 4 + cores_.size() * kCoreBytes + 8 + entries_.size() * kEntryBytes +
              kChecksumBytes);
  PutU32(out, static_cast<uint32_t>(cores_.size()));
  for (uint32_t id = 0; id < cores_.size(); ++id) {
    out.insert(out.end(), cores_[id].begin(), cores_[id].end());
    auto it = cover_.find(id);
    PutU64(out, it == cover_.end() ? kNoCoverage : it->second.length);
    PutU64(out, it == cover_.end() ? kNoCoverage : it->second.downloaded);
  }
  PutU64(out, entries_.size());
  for (const auto& [key, e] : entries_) {
    PutU64(out, key);
    PutU32(out, e.core);
    PutU64(out, e.index);
  }
  crypto::Hash sum = Checksum(out);
  out.insert(out.end(), sum.begin(), sum.end());
  return out;
}

Result<std::unique_ptr<LeafIndex>> LeafIndex::Decode(ByteView file, LeafIndexOptions options) {
  const size_t fixed = sizeof(kMagic) + 4 + 8 + kChecksumBytes;
  if (file.size() < fixed)
    return Bad("it is too short (" + std::to_string(file.size()) + " bytes)");
  if (std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) return Bad("unknown format");
  ByteView body = file.first(file.size() - kChecksumBytes);
  crypto::Hash sum = Checksum(body);
  if (std::memcmp(sum.data(), file.data() + body.size(), kChecksumBytes) != 0) {
    return Bad("checksum mismatch");
  }
  const uint8_t* p = file.data() + sizeof(kMagic);
  const uint64_t cores = GetU32(p);
  p += 4;
  if (cores > kMaxCores) return Bad("too many cores");
  const uint64_t after_cores = sizeof(kMagic) + 4 + cores * kCoreBytes;
  if (after_cores + 8 + kChecksumBytes > file.size()) return Bad("cut short in the core table");
  const uint64_t entries = GetU64(file.data() + after_cores);
  if (entries > kMaxEntries) return Bad("too many entries");
  if (after_cores + 8 + entries * kEntryBytes + kChecksumBytes != file.size()) {
    return Bad("its size does not match its counts");
  }
  auto index = std::make_unique<LeafIndex>(options);
  for (uint64_t c = 0; c < cores; ++c, p += kCoreBytes) {
    crypto::Hash dk;
    std::memcpy(dk.data(), p, dk.size());
    if (index->ids_.count(dk)) return Bad("a core is listed twice");
    auto id = index->CoreIdLocked(dk);
    uint64_t length = GetU64(p + 32);
    uint64_t downloaded = GetU64(p + 40);
    if (length != kNoCoverage) {
      if (downloaded > length) return Bad("a core holds more blocks than its length");
      index->cover_[id] = LeafCoverage{length, downloaded};
    }
  }
  p += 8;
  const uint64_t kept = std::min<uint64_t>(entries, options.max_entries);
  index->entries_.reserve(kept);
  for (uint64_t e = 0; e < entries; ++e, p += kEntryBytes) {
    uint32_t core = GetU32(p + 8);
    if (core >= cores) return Bad("an entry names no core");
    if (e >= kept) continue;  // a smaller limit than when it was written
    if (!index->entries_.emplace(GetU64(p), Entry{core, GetU64(p + 12)}).second) {
      return Bad("a hash is listed twice");
    }
  }
  return index;
}

}  // namespace hyper::corestore
