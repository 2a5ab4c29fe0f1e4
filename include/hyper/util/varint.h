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

}  // namespace hyper
