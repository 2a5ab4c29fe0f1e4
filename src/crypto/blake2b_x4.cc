#include "blake2b_x4.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "blake2b.h"
#include "blake2b_constants.h"

namespace hyper::crypto {
namespace {

using blake2b::kIv;
using blake2b::kSigma;

constexpr size_t kBlock = Blake2bHasher::kBlockBytes;
constexpr size_t kPrefix = 9;  // the leaf's type byte and its size, before the block's bytes
constexpr size_t kOutBytes = 32;

#define HYPER_AVX2 __attribute__((target("avx2"), always_inline)) inline

HYPER_AVX2 __m256i Add(__m256i a, __m256i b) { return _mm256_add_epi64(a, b); }
HYPER_AVX2 __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
// Rotations right by 32, 24, 16 (byte shuffles within each 64-bit lane) and 63.
HYPER_AVX2 __m256i Rot32(__m256i x) { return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)); }
HYPER_AVX2 __m256i Rot24(__m256i x) {
  const __m256i r = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5,
                                     6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
  return _mm256_shuffle_epi8(x, r);
}
HYPER_AVX2 __m256i Rot16(__m256i x) {
  const __m256i r = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4,
                                     5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
  return _mm256_shuffle_epi8(x, r);
}
HYPER_AVX2 __m256i Rot63(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x));
}

HYPER_AVX2 void G(__m256i& a, __m256i& b, __m256i& c, __m256i& d, __m256i x, __m256i y) {
  a = Add(Add(a, b), x);
  d = Rot32(Xor(d, a));
  c = Add(c, d);
  b = Rot24(Xor(b, c));
  a = Add(Add(a, b), y);
  d = Rot16(Xor(d, a));
  c = Add(c, d);
  b = Rot63(Xor(b, c));
}

template <int R>
HYPER_AVX2 void Round(__m256i (&v)[16], const __m256i (&m)[16]) {
  constexpr const uint8_t* s = kSigma[R];
  G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
  G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
  G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
  G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
  G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
  G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
  G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
  G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
}

// The 16 message words of four 128-byte blocks, word i of lane k in m[i] lane k: four 4×4
// transposes of 64-bit words.
HYPER_AVX2 void LoadMessage(const uint8_t* const (&p)[4], __m256i (&m)[16]) {
  for (int q = 0; q < 4; ++q) {
    const __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[0] + 32 * q));
    const __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[1] + 32 * q));
    const __m256i r2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[2] + 32 * q));
    const __m256i r3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[3] + 32 * q));
    const __m256i t0 = _mm256_unpacklo_epi64(r0, r1);  // r0w0 r1w0 r0w2 r1w2
    const __m256i t1 = _mm256_unpackhi_epi64(r0, r1);  // r0w1 r1w1 r0w3 r1w3
    const __m256i t2 = _mm256_unpacklo_epi64(r2, r3);
    const __m256i t3 = _mm256_unpackhi_epi64(r2, r3);
    m[4 * q + 0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    m[4 * q + 1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    m[4 * q + 2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    m[4 * q + 3] = _mm256_permute2x128_si256(t1, t3, 0x31);
  }
}

// One compression of a block that is not the last, in each lane; `bytes` counts the message
// bytes compressed so far including this block (the same in every lane: they run in step).
HYPER_AVX2 void Compress(__m256i (&h)[8], const uint8_t* const (&p)[4], uint64_t bytes) {
  __m256i m[16];
  LoadMessage(p, m);
  __m256i v[16];
  for (int i = 0; i < 8; ++i) {
    v[i] = h[i];
    v[i + 8] = _mm256_set1_epi64x(static_cast<long long>(kIv[i]));
  }
  v[12] = Xor(v[12], _mm256_set1_epi64x(static_cast<long long>(bytes)));
  Round<0>(v, m);
  Round<1>(v, m);
  Round<2>(v, m);
  Round<3>(v, m);
  Round<4>(v, m);
  Round<5>(v, m);
  Round<6>(v, m);
  Round<7>(v, m);
  Round<8>(v, m);
  Round<9>(v, m);
  Round<10>(v, m);
  Round<11>(v, m);
  for (int i = 0; i < 8; ++i) h[i] = Xor(h[i], Xor(v[i], v[i + 8]));
}

// The compressions a message of `size` block bytes makes before its last one.
uint64_t LeadingCompressions(uint64_t size) {
  const uint64_t message = kPrefix + size;
  return (message + kBlock - 1) / kBlock - 1;
}

__attribute__((target("avx2"))) void HashX4(std::span<const ByteView, 4> blocks,
                                            std::span<Hash, 4> out) {
  uint64_t together = UINT64_MAX;
  for (const ByteView& b : blocks) together = std::min(together, LeadingCompressions(b.size()));
  uint64_t h[4][8];
  if (together > 0) {
    __m256i hv[8];
    for (int i = 0; i < 8; ++i) hv[i] = _mm256_set1_epi64x(static_cast<long long>(kIv[i]));
    // The parameter block: a 32-byte digest, no key, fanout 1, depth 1.
    hv[0] = Xor(hv[0], _mm256_set1_epi64x(0x01010000LL ^ static_cast<long long>(kOutBytes)));
    // The first block of each message: the prefix, then the block's first 119 bytes.
    alignas(32) uint8_t first[4][kBlock];
    const uint8_t* p[4];
    for (int k = 0; k < 4; ++k) {
      const uint64_t size = blocks[k].size();
      first[k][0] = 0;  // the leaf type
      for (int i = 0; i < 8; ++i) first[k][1 + i] = static_cast<uint8_t>(size >> (56 - 8 * i));
      std::memcpy(first[k] + kPrefix, blocks[k].data(), kBlock - kPrefix);
      p[k] = first[k];
    }
    Compress(hv, p, kBlock);
    for (uint64_t j = 1; j < together; ++j) {
      for (int k = 0; k < 4; ++k) p[k] = blocks[k].data() + j * kBlock - kPrefix;
      Compress(hv, p, (j + 1) * kBlock);
    }
    alignas(32) uint64_t lanes[8][4];
    for (int i = 0; i < 8; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes[i]), hv[i]);
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < 8; ++i) h[k][i] = lanes[i][k];
    }
  }
  for (int k = 0; k < 4; ++k) {
    if (together == 0) {
      out[k] = LeafHash(blocks[k]);
      continue;
    }
    const uint64_t done = together * kBlock;
    Blake2bHasher tail = Blake2bHasher::Resume(h[k], done, kOutBytes);
    tail.Update(blocks[k].subspan(done - kPrefix));
    tail.Final(out[k]);
  }
}

}  // namespace

bool HaveLeafHashX4() {
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
}

void LeafHashX4(std::span<const ByteView, 4> blocks, std::span<Hash, 4> out) {
  HashX4(blocks, out);
}

}  // namespace hyper::crypto
