// Stat and Mount records of hyperdrive-schemas, the metadata map and path normalization.
#include <algorithm>
#include <chrono>

#include "hyper/drive/drive.h"
#include "hyper/util/protobuf.h"
#include "hyper/util/varint.h"

namespace hyper::drive {

namespace {

// Records are one trie value (a block of at most 8 MiB).
pb::Limits RecordLimits() {
  pb::Limits limits;
  limits.max_message_bytes = 8 * 1024 * 1024;
  limits.max_fields = 1u << 16;
  return limits;
}

// A JS array index: a canonical decimal below 2^32 - 1.
std::optional<uint64_t> ArrayIndex(std::string_view key) {
  if (key.empty() || key.size() > 10) return std::nullopt;
  if (key.size() > 1 && key[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v >= 4294967295ULL) return std::nullopt;
  return v;
}

Status CheckU32(uint64_t v, const char* what) {
  if (v > UINT32_MAX) return Status::Corruption(std::string("Stat ") + what + " above 32 bits");
  return Status::Ok();
}

}  // namespace

void SetMetadataEntry(MetadataMap& map, std::string key, std::optional<Bytes> value) {
  for (auto& [k, v] : map) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  map.emplace_back(std::move(key), std::move(value));
}

const std::optional<Bytes>* FindMetadataEntry(const MetadataMap& map, std::string_view key) {
  for (const auto& [k, v] : map) {
    if (k == key) return &v;
  }
  return nullptr;
}

MetadataMap OrderMetadata(const MetadataMap& map) {
  std::vector<std::pair<uint64_t, size_t>> indexes;
  MetadataMap out;
  out.reserve(map.size());
  for (size_t i = 0; i < map.size(); i++) {
    if (auto idx = ArrayIndex(map[i].first)) indexes.emplace_back(*idx, i);
  }
  std::sort(indexes.begin(), indexes.end());
  for (const auto& [idx, i] : indexes) out.push_back(map[i]);
  for (const auto& entry : map) {
    if (!ArrayIndex(entry.first)) out.push_back(entry);
  }
  return out;
}

Bytes MountRecord::Encode() const {
  pb::Writer w;
  w.BytesField(1, key);
  if (version) w.Varint(2, *version);
  if (hash) w.BytesField(3, *hash);
  if (hypercore) w.Bool(4, *hypercore);
  return w.Take();
}

Result<MountRecord> MountRecord::Decode(ByteView in) {
  MountRecord m;
  bool has_key = false;
  pb::Reader r(in, RecordLimits());
  pb::Field f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) break;
    switch (f.number) {
      case 1:
        if (f.type != pb::WireType::kBytes) return Status::Corruption("Mount key: wrong wire type");
        m.key = ToBytes(f.bytes);
        has_key = true;
        break;
      case 2:
        if (f.type != pb::WireType::kVarint) return Status::Corruption("Mount version: wrong type");
        m.version = f.varint;
        break;
      case 3:
        if (f.type != pb::WireType::kBytes) return Status::Corruption("Mount hash: wrong type");
        m.hash = ToBytes(f.bytes);
        break;
      case 4:
        if (f.type != pb::WireType::kVarint)
          return Status::Corruption("Mount hypercore: wrong type");
        m.hypercore = f.varint != 0;
        break;
      default:
        break;
    }
  }
  if (!has_key) return Status::Corruption("Mount without a key");
  return m;
}

Bytes Stat::Encode() const {
  pb::Writer w;
  w.Varint(1, mode);
  w.Varint(2, uid);
  w.Varint(3, gid);
  w.Varint(4, size);
  w.Varint(5, blocks);
  w.Varint(6, offset);
  w.Varint(7, byte_offset);
  w.Varint(8, mtime);
  w.Varint(9, ctime);
  if (!linkname.empty()) w.String(10, linkname);
  if (mount) w.BytesField(11, mount->Encode());
  for (const auto& [k, v] : OrderMetadata(metadata)) {
    pb::Writer entry;
    entry.String(1, k);
    if (v) entry.BytesField(2, *v);
    w.Message(12, entry);
  }
  return w.Take();
}

namespace {
// The common Stat: only varint fields 1..9 (a file, directory or symlink-less entry without
// metadata), decoded straight into `st`. False when anything else is there (a string, a
// record, an unknown or malformed field, a value above 32 bits for mode, uid or gid): the
// general decoder then decodes the whole record, with its checks and messages.
bool DecodeSimpleStat(ByteView in, Stat& st) {
  const uint8_t* p = in.data();
  const uint8_t* const end = p + in.size();
  bool has_mode = false;
  size_t fields = 0;
  while (p < end) {
    const uint8_t tag = *p++;
    const uint32_t number = tag >> 3;
    if ((tag & 7) != 0 || number < 1 || number > 9 || ++fields > 64) return false;
    uint64_t v = 0;
    if (!DecodeVarint(&p, end, &v)) return false;
    switch (number) {
      case 1:
        if (v > UINT32_MAX) return false;
        st.mode = static_cast<uint32_t>(v);
        has_mode = true;
        break;
      case 2:
        if (v > UINT32_MAX) return false;
        st.uid = static_cast<uint32_t>(v);
        break;
      case 3:
        if (v > UINT32_MAX) return false;
        st.gid = static_cast<uint32_t>(v);
        break;
      case 4:
        st.size = v;
        break;
      case 5:
        st.blocks = v;
        break;
      case 6:
        st.offset = v;
        break;
      case 7:
        st.byte_offset = v;
        break;
      case 8:
        st.mtime = v;
        break;
      default:
        st.ctime = v;
        break;
    }
  }
  return has_mode;
}
}  // namespace

Result<Stat> Stat::Decode(ByteView in) {
  {
    Stat simple;
    if (DecodeSimpleStat(in, simple)) return simple;
  }
  Stat st;
  bool has_mode = false;
  pb::Reader r(in, RecordLimits());
  pb::Field f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) break;
    if (f.number >= 1 && f.number <= 9 && f.type != pb::WireType::kVarint) {
      return Status::Corruption("Stat: wrong wire type for field " + std::to_string(f.number));
    }
    if (f.number >= 10 && f.number <= 12 && f.type != pb::WireType::kBytes) {
      return Status::Corruption("Stat: wrong wire type for field " + std::to_string(f.number));
    }
    switch (f.number) {
      case 1:
        RETURN_IF_ERROR(CheckU32(f.varint, "mode"));
        st.mode = static_cast<uint32_t>(f.varint);
        has_mode = true;
        break;
      case 2:
        RETURN_IF_ERROR(CheckU32(f.varint, "uid"));
        st.uid = static_cast<uint32_t>(f.varint);
        break;
      case 3:
        RETURN_IF_ERROR(CheckU32(f.varint, "gid"));
        st.gid = static_cast<uint32_t>(f.varint);
        break;
      case 4:
        st.size = f.varint;
        break;
      case 5:
        st.blocks = f.varint;
        break;
      case 6:
        st.offset = f.varint;
        break;
      case 7:
        st.byte_offset = f.varint;
        break;
      case 8:
        st.mtime = f.varint;
        break;
      case 9:
        st.ctime = f.varint;
        break;
      case 10:
        st.linkname = std::string(AsString(f.bytes));
        break;
      case 11: {
        auto m = MountRecord::Decode(f.bytes);
        if (!m.ok()) return m.status();
        st.mount.emplace(std::move(m).value());
        break;
      }
      case 12: {
        std::string key;
        std::optional<Bytes> value;
        bool has_key = false;
        pb::Reader er(f.bytes, RecordLimits());
        pb::Field ef;
        while (true) {
          ASSIGN_OR_RETURN(bool emore, er.Next(&ef));
          if (!emore) break;
          if (ef.number == 1 && ef.type == pb::WireType::kBytes) {
            key = std::string(AsString(ef.bytes));
            has_key = true;
          } else if (ef.number == 2 && ef.type == pb::WireType::kBytes) {
            value = ToBytes(ef.bytes);
          }
        }
        if (!has_key) return Status::Corruption("Stat metadata entry without a key");
        SetMetadataEntry(st.metadata, std::move(key), std::move(value));
        break;
      }
      default:
        break;
    }
  }
  if (!has_mode) return Status::Corruption("Stat without a mode");
  st.metadata = OrderMetadata(st.metadata);
  return st;
}

uint64_t NowMillis() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

namespace {
// Whether NormalizePath returns `path` as it is: "/", or '/' before each segment, none of them
// empty, "." or "..", and no backslash or NUL byte. Paths callers pass usually are.
bool IsNormalPath(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.size() == 1) return true;
  size_t start = 1;
  while (true) {
    size_t end = start;
    while (end < path.size() && path[end] != '/') {
      if (path[end] == '\\' || path[end] == '\0') return false;
      end++;
    }
    const size_t length = end - start;
    if (length == 0) return false;  // "//", or a trailing '/'
    if (path[start] == '.' && (length == 1 || (length == 2 && path[start + 1] == '.'))) {
      return false;
    }
    if (end == path.size()) return true;
    start = end + 1;
  }
}
}  // namespace

Result<std::string> NormalizePath(std::string_view path) {
  if (IsNormalPath(path)) return std::string(path);
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = i;
    while (j < path.size() && path[j] != '/' && path[j] != '\\') {
      if (path[j] == '\0') return Status::InvalidArgument("path contains a NUL byte");
      j++;
    }
    std::string_view seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (auto seg : parts) {
    out += '/';
    out += seg;
  }
  if (out.empty()) out = "/";
  return out;
}

std::string TrieKeyOf(std::string_view normalized) {
  if (!normalized.empty() && normalized[0] == '/') normalized.remove_prefix(1);
  return std::string(normalized);
}

}  // namespace hyper::drive
