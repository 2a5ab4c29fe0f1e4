#include "hyper/protocol/noise.h"

#include <gtest/gtest.h>

#include "hyper/crypto/crypto.h"

namespace hyper::protocol {
namespace {

DhKeyPair Seeded(uint8_t b) { return DhKeyPairFromSeed(Bytes(32, b)); }

struct Pair {
  NoiseHandshake init{true, Seeded(1)};
  NoiseHandshake resp{false, Seeded(3)};
};

TEST(Noise, HandshakeAgreesOnKeysAndIdentities) {
  ASSERT_TRUE(crypto::Init().ok());
  Pair p;
  EXPECT_TRUE(p.init.my_turn());
  EXPECT_FALSE(p.resp.my_turn());
  auto m1 = p.init.WriteMessage(ToBytes("one"));
  ASSERT_TRUE(m1.ok());
  auto r1 = p.resp.ReadMessage(*m1);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(AsString(*r1), "one");
  auto m2 = p.resp.WriteMessage(ToBytes("two"));
  ASSERT_TRUE(m2.ok());
  auto r2 = p.init.ReadMessage(*m2);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(AsString(*r2), "two");
  auto m3 = p.init.WriteMessage(ToBytes("three"));
  ASSERT_TRUE(m3.ok());
  EXPECT_TRUE(p.init.finished());
  auto r3 = p.resp.ReadMessage(*m3);
  ASSERT_TRUE(r3.ok());
  EXPECT_TRUE(p.resp.finished());
  EXPECT_EQ(p.init.split().tx, p.resp.split().rx);
  EXPECT_EQ(p.init.split().rx, p.resp.split().tx);
  EXPECT_EQ(p.init.handshake_hash(), p.resp.handshake_hash());
  EXPECT_EQ(*p.init.remote_static(), Seeded(3).public_key);
  EXPECT_EQ(*p.resp.remote_static(), Seeded(1).public_key);
}

TEST(Noise, TamperedMessageFailsForGood) {
  ASSERT_TRUE(crypto::Init().ok());
  Pair p;
  auto m1 = p.init.WriteMessage({});
  ASSERT_TRUE(p.resp.ReadMessage(*m1).ok());
  auto m2 = p.resp.WriteMessage({});
  Bytes bad = *m2;
  bad[40] ^= 1;  // inside the encrypted static key
  EXPECT_FALSE(p.init.ReadMessage(bad).ok());
  EXPECT_TRUE(p.init.failed());
  EXPECT_FALSE(p.init.ReadMessage(*m2).ok());
  EXPECT_FALSE(p.init.WriteMessage({}).ok());
}

TEST(Noise, ShortAndOutOfTurnMessages) {
  ASSERT_TRUE(crypto::Init().ok());
  Pair p;
  EXPECT_FALSE(p.resp.WriteMessage({}).ok());           // not its turn
  EXPECT_FALSE(p.resp.ReadMessage(Bytes(10, 0)).ok());  // shorter than a key
  Pair q;
  EXPECT_FALSE(q.init.ReadMessage(Bytes(64, 0)).ok());  // initiator must write first
  Pair z;
  // The all-zero point as ephemeral key: the DH gives zero, which libsodium refuses.
  ASSERT_TRUE(z.resp.ReadMessage(Bytes(32, 0)).ok());
  EXPECT_FALSE(z.resp.WriteMessage({}).ok());
}

TEST(Noise, HmacBlake2bOfEmptyKeyIsStable) {
  auto a = HmacBlake2b({}, {});
  auto b = HmacBlake2b(Bytes(200, 1), {ToBytes("x")});  // long key hashed first
  EXPECT_NE(a, b);
  EXPECT_EQ(a, HmacBlake2b({}, {}));
}

TEST(XSalsa20, SlicingDoesNotChangeTheKeyStream) {
  Bytes whole(1000, 0), sliced(1000, 0);
  XSalsa20 a(Bytes(24, 7), Bytes(32, 9)), b(Bytes(24, 7), Bytes(32, 9));
  a.Xor(whole);
  size_t pos = 0;
  for (size_t n : {1, 63, 100, 1, 2, 64, 128, 641}) {
    b.Xor(MutableByteView(sliced).subspan(pos, n));
    pos += n;
  }
  ASSERT_EQ(pos, 1000u);
  EXPECT_EQ(whole, sliced);
}

}  // namespace
}  // namespace hyper::protocol
