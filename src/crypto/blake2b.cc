#include "blake2b.h"

#include <algorithm>
#include <cstring>

#include "blake2b_constants.h"

namespace hyper::crypto {
namespace {

using blake2b::kIv;
using blake2b::kSigma;

inline uint64_t Rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];  // little endian; compiles to one load
  return v;
}

inline void Store64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// The mixing function G on four words of the state.
[[gnu::always_inline]] inline void G(uint64_t& a, uint64_t& b, uint64_t& c, uint64_t& d, uint64_t x,
                                     uint64_t y) {
  a = a + b + x;
  d = Rotr(d ^ a, 32);
  c = c + d;
  b = Rotr(b ^ c, 24);
  a = a + b + y;
  d = Rotr(d ^ a, 16);
  c = c + d;
  b = Rotr(b ^ c, 63);
}

// One round, with the schedule of round R known at compile time (inlined: -O2 would call the
// last rounds out of line, 10 % slower).
template <int R>
[[gnu::always_inline]] inline void Round(uint64_t (&v)[16], const uint64_t (&m)[16]) {
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

}  // namespace

Blake2bHasher::Blake2bHasher(size_t out_len, ByteView key) : out_len_(out_len) {
  for (int i = 0; i < 8; ++i) h_[i] = kIv[i];
  // The parameter block: digest length, key length, fanout 1, depth 1; the rest zero.
  h_[0] ^= 0x01010000ULL ^ (static_cast<uint64_t>(key.size()) << 8) ^ out_len;
  std::memset(buffer_, 0, sizeof buffer_);
  if (!key.empty()) {
    std::memcpy(buffer_, key.data(), key.size());
    buffered_ = kBlockBytes;  // the key, padded, is the first block
  }
}

Blake2bHasher Blake2bHasher::Resume(const uint64_t (&h)[8], uint64_t bytes, size_t out_len) {
  Blake2bHasher hasher(out_len);
  for (int i = 0; i < 8; ++i) hasher.h_[i] = h[i];
  hasher.t_[0] = bytes;
  return hasher;
}

void Blake2bHasher::Compress(const uint8_t* block, bool last) {
  uint64_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = Load64(block + 8 * i);
  uint64_t v[16];
  for (int i = 0; i < 8; ++i) {
    v[i] = h_[i];
    v[i + 8] = kIv[i];
  }
  v[12] ^= t_[0];
  v[13] ^= t_[1];
  if (last) v[14] = ~v[14];
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
  for (int i = 0; i < 8; ++i) h_[i] ^= v[i] ^ v[i + 8];
}

void Blake2bHasher::Update(ByteView data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  auto count = [this](uint64_t bytes) {
    t_[0] += bytes;
    if (t_[0] < bytes) ++t_[1];
  };
  while (n > 0) {
    // A full buffer is compressed only once more input follows (the last block is special).
    if (buffered_ == kBlockBytes) {
      count(kBlockBytes);
      Compress(buffer_, false);
      buffered_ = 0;
    }
    if (buffered_ == 0) {
      // Whole blocks straight from the input, keeping at least one byte back.
      while (n > kBlockBytes) {
        count(kBlockBytes);
        Compress(p, false);
        p += kBlockBytes;
        n -= kBlockBytes;
      }
    }
    const size_t take = std::min(n, kBlockBytes - buffered_);
    std::memcpy(buffer_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
  }
}

void Blake2bHasher::Final(MutableByteView out) {
  t_[0] += buffered_;
  if (t_[0] < buffered_) ++t_[1];
  std::memset(buffer_ + buffered_, 0, kBlockBytes - buffered_);
  Compress(buffer_, true);
  uint8_t digest[kMaxOutBytes];
  for (int i = 0; i < 8; ++i) Store64(digest + 8 * i, h_[i]);
  std::memcpy(out.data(), digest, out_len_);
}

}  // namespace hyper::crypto
