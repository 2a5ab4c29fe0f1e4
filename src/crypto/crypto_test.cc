#include "hyper/crypto/crypto.h"

#include <gtest/gtest.h>

namespace hyper::crypto {
namespace {

TEST(Crypto, SeededKeyPairIsDeterministicAndValid) {
  Bytes seed(32, 7);
  KeyPair a = KeyPairFromSeed(seed), b = KeyPairFromSeed(seed);
  EXPECT_EQ(a.public_key, b.public_key);
  EXPECT_TRUE(ValidateKeyPair(a));
  KeyPair r = RandomKeyPair();
  EXPECT_NE(r.public_key, a.public_key);
  KeyPair mixed{a.public_key, r.secret_key};
  EXPECT_FALSE(ValidateKeyPair(mixed));
}

TEST(Crypto, SignVerify) {
  KeyPair kp = RandomKeyPair();
  Bytes msg = ToBytes("hello");
  Signature sig = Sign(msg, kp.secret_key);
  EXPECT_TRUE(Verify(msg, sig, kp.public_key));
  msg[0] ^= 1;
  EXPECT_FALSE(Verify(msg, sig, kp.public_key));
}

TEST(Crypto, ParentHashIsOrderIndependent) {
  TreeNodeRef a{0, 3, LeafHash(ToBytes("abc"))};
  TreeNodeRef b{2, 2, LeafHash(ToBytes("de"))};
  EXPECT_EQ(ParentHash(a, b), ParentHash(b, a));
  EXPECT_NE(LeafHash(ToBytes("abc")), LeafHash(ToBytes("abd")));
}

TEST(Crypto, StreamingMatchesOneShot) {
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 31);
  Hash one;
  Blake2b(one, {data});
  Blake2bState st;
  st.Update(ByteView(data).first(1000));
  st.Update(ByteView(data).subspan(1000));
  Hash two;
  st.Final(two);
  EXPECT_EQ(one, two);
}

}  // namespace
}  // namespace hyper::crypto
