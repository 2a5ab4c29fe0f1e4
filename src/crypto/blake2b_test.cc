#include "blake2b.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <random>
#include <vector>

#include "blake2b_x4.h"
#include "hyper/crypto/crypto.h"

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

// The leaf hash as the reference defines it, through libsodium: BLAKE2b-256 of the type byte 0,
// the size as 8 bytes big endian, and the block.
Hash SodiumLeaf(ByteView block) {
  Bytes message = {0};
  for (int i = 7; i >= 0; --i) message.push_back(static_cast<uint8_t>(block.size() >> (8 * i)));
  message.insert(message.end(), block.begin(), block.end());
  Hash out;
  EXPECT_EQ(crypto_generichash(out.data(), out.size(), message.data(), message.size(), nullptr, 0),
            0);
  return out;
}

TEST(LeafHashX4, FourLanesGiveEachBlocksLeafHashWhateverTheirSizes) {
  ASSERT_GE(sodium_init(), 0);
  // This machine has AVX2 (the test is meant to run the four-lane code, not the fallback).
  ASSERT_TRUE(HaveLeafHashX4());
  std::mt19937_64 rng(4);
  Bytes data(300 * 1024);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  // Around the first block (119 bytes of the block fit beside the 9-byte prefix), around later
  // block boundaries, 64 KiB blocks, and random sizes; lanes equal and unequal, at odd offsets.
  std::vector<size_t> sizes = {0,   1,   118, 119, 120,   127,   128,   246,   247,  248,
                               249, 374, 375, 376, 65535, 65536, 65537, 65536, 4096, 200000};
  for (int i = 0; i < 60; ++i) sizes.push_back(rng() % 70000);
  for (size_t round = 0; round < 200; ++round) {
    std::array<ByteView, 4> blocks;
    for (auto& b : blocks) {
      const size_t size = round < 20 ? sizes[round] : sizes[rng() % sizes.size()];
      const size_t at = rng() % (data.size() - size + 1);
      b = ByteView(data).subspan(at, size);
    }
    std::array<Hash, 4> got;
    LeafHashX4(blocks, got);
    for (int k = 0; k < 4; ++k) {
      ASSERT_EQ(got[k], SodiumLeaf(blocks[k]))
          << "round " << round << " lane " << k << " size " << blocks[k].size();
      ASSERT_EQ(got[k], LeafHash(blocks[k]));
    }
  }
}

TEST(LeafHashX4, LeafHashesOfAnyCountEqualsOneAtATime) {
  std::mt19937_64 rng(5);
  Bytes data(64 * 1024 * 9);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t count : {0, 1, 3, 4, 5, 8, 9}) {
    std::vector<ByteView> blocks;
    for (size_t i = 0; i < count; ++i) {
      blocks.push_back(ByteView(data).subspan(i * 64 * 1024, 64 * 1024 - (i % 3) * 1000));
    }
    std::vector<Hash> got(count);
    LeafHashes(blocks, got);
    for (size_t i = 0; i < count; ++i) EXPECT_EQ(got[i], LeafHash(blocks[i])) << count << " " << i;
  }
}

}  // namespace
}  // namespace hyper::crypto
