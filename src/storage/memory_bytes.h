// The byte-level semantics shared by MemoryFile and FaultyFile (internal to storage).
#pragma once

#include "hyper/util/bytes.h"

namespace hyper::storage::internal {

// REQUIRES: external synchronization.
Status ReadAt(const Bytes& bytes, uint64_t offset, MutableByteView out);
// Grows `bytes` with zeros as needed.
void WriteAt(Bytes& bytes, uint64_t offset, ByteView data);
// Truncates when the range reaches the end, zeroes it otherwise (see File::Del).
void DelAt(Bytes& bytes, uint64_t offset, uint64_t length);

}  // namespace hyper::storage::internal
