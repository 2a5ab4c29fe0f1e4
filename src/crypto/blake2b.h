// BLAKE2b (RFC 7693) in portable C++: keyed or not, outputs of 1 to 64 bytes. The same digests
// as libsodium's crypto_generichash (the tests compare them), about twice as fast on the
// machines we measured (1.26 GB/s against 0.57 GB/s on one AMD EPYC core, docs/performance.md):
// the rounds are unrolled so that every message word index is a constant. BLAKE2b is the
// hash of every hypercore leaf, so a cold read of a big file is bounded by it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hyper/util/bytes.h"

namespace hyper::crypto {

class Blake2bHasher {
 public:
  static constexpr size_t kBlockBytes = 128;
  static constexpr size_t kMaxOutBytes = 64;
  static constexpr size_t kMaxKeyBytes = 64;

  // REQUIRES: 1 <= out_len <= 64, key.size() <= 64.
  explicit Blake2bHasher(size_t out_len, ByteView key = {});
  void Update(ByteView data);
  // REQUIRES: out.size() == out_len. The hasher is spent afterwards.
  void Final(MutableByteView out);

  // A hasher that goes on from a chaining state `h` reached after compressing `bytes` bytes of
  // message in whole 128-byte blocks (none of them the last): the multi-lane leaf hasher
  // (blake2b_x4.h) hands each lane's tail to one of these.
  // REQUIRES: bytes > 0 and a multiple of 128; 1 <= out_len <= 64.
  static Blake2bHasher Resume(const uint64_t (&h)[8], uint64_t bytes, size_t out_len);

 private:
  void Compress(const uint8_t* block, bool last);

  uint64_t h_[8];
  uint64_t t_[2] = {0, 0};  // bytes hashed so far (128-bit counter)
  uint8_t buffer_[kBlockBytes];
  size_t buffered_ = 0;
  size_t out_len_;
};

}  // namespace hyper::crypto
