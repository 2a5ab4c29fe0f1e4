// A small protobuf wire-format encoder and a bounded decoder.
//
// Why our own and not libprotobuf: the reference encodes with the npm `protocol-buffers`
// module, and byte-for-byte compatibility depends on its exact field order and on which
// default-valued fields it writes. An encoder where the caller writes each field in turn makes
// that order explicit at the call site. The decoder is a pull reader that never allocates what
// the input claims: every length is checked against the bytes actually present and against
// explicit limits. See docs/formats/protobuf.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "hyper/util/bytes.h"

namespace hyper::pb {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

class Writer {
 public:
  void Varint(uint32_t field, uint64_t v);
  void Bool(uint32_t field, bool v) { Varint(field, v ? 1 : 0); }
  // zig-zag signed (sint64)
  void SInt(uint32_t field, int64_t v);
  void Fixed64(uint32_t field, uint64_t v);
  void Fixed32(uint32_t field, uint32_t v);
  void BytesField(uint32_t field, ByteView v);
  void String(uint32_t field, std::string_view v) { BytesField(field, AsBytes(v)); }
  void Message(uint32_t field, const Writer& nested) { BytesField(field, nested.data()); }

  const Bytes& data() const { return buf_; }
  Bytes Take() { return std::move(buf_); }

 private:
  void Tag(uint32_t field, WireType type);
  Bytes buf_;
};

struct Limits {
  size_t max_message_bytes = 64 * 1024 * 1024;
  uint32_t max_field_number = 1u << 20;
  size_t max_fields = 1u << 20;
};

struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;  // kVarint, kFixed64, kFixed32
  ByteView bytes;       // kBytes: a view into the reader's input
};

// Pull reader: `while (true) { ASSIGN_OR_RETURN(bool more, r.Next(&f)); if (!more) break; ...}`
class Reader {
 public:
  explicit Reader(ByteView in, Limits limits = {}) : in_(in), limits_(limits) {}
  // false at the clean end of input; Corruption on a malformed field or a broken limit.
  Result<bool> Next(Field* out);

 private:
  ByteView in_;
  size_t pos_ = 0;
  size_t fields_ = 0;
  Limits limits_;
};

int64_t ZigZagDecode(uint64_t v);
uint64_t ZigZagEncode(int64_t v);

}  // namespace hyper::pb
