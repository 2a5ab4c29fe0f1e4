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
  if (*p < end && **p < 0x80) {
    *out = **p;
    ++*p;
    return true;
  }
  return DecodeVarintSlow(p, end, out);
}

}  // namespace hyper
