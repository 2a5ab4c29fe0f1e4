// Unsigned LEB128 varints as protobuf and the wire use them. Decoding is bounded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyper/util/bytes.h"

namespace hyper {

constexpr size_t kMaxVarintLen = 10;

size_t VarintLength(uint64_t v);
// Appends the encoding of v to out.
void AppendVarint(Bytes& out, uint64_t v);
// Writes into out (REQUIRES: at least VarintLength(v) bytes); returns bytes written.
size_t EncodeVarint(uint8_t* out, uint64_t v);

// Decodes a varint from the front of `in`. On success sets *consumed. Truncated input,
// more than 10 bytes, or a value past 2^64 is Corruption.
Result<uint64_t> DecodeVarint(ByteView in, size_t* consumed);

// The same without a Status, for hot decoders: decodes the varint at *p (not reading at or past
// `end`), advances *p past it and returns true; false (with *p unchanged) where DecodeVarint
// would return Corruption.
bool DecodeVarintSlow(const uint8_t** p, const uint8_t* end, uint64_t* out);
inline bool DecodeVarint(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  const uint8_t* q = *p;
  if (end - q >= 3) {  // up to three bytes (values below 2^21) inline
    const uint64_t b0 = q[0];
    if (b0 < 0x80) {
      *out = b0;
      *p = q + 1;
      return true;
    }
    const uint64_t b1 = q[1];
    if (b1 < 0x80) {
      *out = (b0 & 0x7f) | (b1 << 7);
      *p = q + 2;
      return true;
    }
    const uint64_t b2 = q[2];
    if (b2 < 0x80) {
      *out = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
      *p = q + 3;
      return true;
    }
  } else if (q < end && *q < 0x80) {
    *out = *q;
    *p = q + 1;
    return true;
  }
  return DecodeVarintSlow(p, end, out);
}

}  // namespace hyper
