#include "blake2b.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <random>
#include <vector>

namespace hyper::crypto {
namespace {

Bytes Ours(ByteView data, size_t out_len, ByteView key, size_t piece) {
  Blake2bHasher hasher(out_len, key);
  for (size_t pos = 0; pos < data.size(); pos += piece) {
    hasher.Update(data.subspan(pos, std::min(piece, data.size() - pos)));
  }
  Bytes out(out_len);
  hasher.Final(out);
  return out;
}

Bytes Sodium(ByteView data, size_t out_len, ByteView key) {
  Bytes out(out_len);
  EXPECT_EQ(crypto_generichash(out.data(), out_len, data.empty() ? nullptr : data.data(),
                               data.size(), key.empty() ? nullptr : key.data(), key.size()),
            0);
  return out;
}

TEST(Blake2b, Rfc7693TestVector) {
  // RFC 7693, appendix A: BLAKE2b-512("abc").
  const std::string want =
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
      "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";
  Bytes out(64);
  Blake2bHasher hasher(64);
  hasher.Update(AsBytes("abc"));
  hasher.Final(out);
  EXPECT_EQ(ToHex(out), want);
}

TEST(Blake2b, SameDigestsAsLibsodiumForEveryShapeOfInput) {
  ASSERT_GE(sodium_init(), 0);
  std::mt19937_64 rng(20);
  Bytes data(3 * 1024 * 1024 + 77);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  std::vector<size_t> lengths = {0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4096};
  for (int i = 0; i < 40; ++i) lengths.push_back(rng() % 20000);
  lengths.push_back(524288);
  lengths.push_back(data.size());
  for (size_t length : lengths) {
    ByteView input = ByteView(data).first(length);
    for (size_t key_len : {size_t{0}, size_t{1}, size_t{32}, size_t{64}}) {
      ByteView key = ByteView(data).subspan(100, key_len);
      for (size_t out_len : {size_t{16}, size_t{32}, size_t{64}}) {
        Bytes want = Sodium(input, out_len, key);
        // Whole, and fed in pieces that do and do not line up with 128-byte blocks.
        for (size_t piece : {length + 1, size_t{1}, size_t{100}, size_t{128}, size_t{1000}}) {
          if (length > 5000 && piece < 100) continue;  // bytes one at a time: small inputs only
          ASSERT_EQ(Ours(input, out_len, key, std::max<size_t>(piece, 1)), want)
              << "length " << length << " key " << key_len << " out " << out_len << " piece "
              << piece;
        }
      }
    }
  }
}

}  // namespace
}  // namespace hyper::crypto
