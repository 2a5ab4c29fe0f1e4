// Four hypercore leaf hashes at once: BLAKE2b-256 of (0x00, the block's size as 8 bytes big
// endian, the block) for four blocks, their compressions run side by side in the four 64-bit
// lanes of AVX2 registers (one message per lane, so each lane is plain BLAKE2b: the digests are
// exactly crypto::LeafHash's). A cold read of a big file hashes every block it reads, and this
// is about twice the rate of one block at a time on one core (docs/performance.md).
#pragma once

#include <span>

#include "hyper/crypto/crypto.h"

namespace hyper::crypto {

// Whether this CPU runs the four-lane code (AVX2); checked once.
bool HaveLeafHashX4();

// out[i] = LeafHash(blocks[i]) for i < 4. The lanes run together while every block still has
// whole 128-byte blocks of message before its last one; each lane then finishes alone.
// REQUIRES: HaveLeafHashX4().
void LeafHashX4(std::span<const ByteView, 4> blocks, std::span<Hash, 4> out);

}  // namespace hyper::crypto
