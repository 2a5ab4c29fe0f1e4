// Our Noise XX handshake and XSalsa20 stream against noise-protocol 3.0.1 / xsalsa20-universal
// with the same fixed keys: every message and both splits must be byte-identical.
#include <gtest/gtest.h>

#include "hyper/crypto/crypto.h"
#include "hyper/protocol/noise.h"
#include "tests/support/node_harness.h"

namespace hyper::protocol {
namespace {

DhKeyPair Seeded(uint8_t b) { return DhKeyPairFromSeed(Bytes(32, b)); }

TEST(ProtocolNoiseInterop, HandshakeAndStreamMatchTheReference) {
  ASSERT_TRUE(crypto::Init().ok());
  auto golden = hyper::testing::RunNode("protocol_noise", {});
  ASSERT_TRUE(golden.ok()) << golden.status().ToString();
  NoiseHandshake init(true, Seeded(1)), resp(false, Seeded(3));
  init.SetEphemeral(Seeded(2));
  resp.SetEphemeral(Seeded(4));
  auto m1 = init.WriteMessage(ToBytes("first"));
  ASSERT_TRUE(m1.ok());
  ASSERT_TRUE(resp.ReadMessage(*m1).ok());
  auto m2 = resp.WriteMessage(ToBytes("second"));
  ASSERT_TRUE(m2.ok());
  ASSERT_TRUE(init.ReadMessage(*m2).ok());
  auto m3 = init.WriteMessage(ToBytes("third"));
  ASSERT_TRUE(m3.ok());
  ASSERT_TRUE(resp.ReadMessage(*m3).ok());
  const auto& j = *golden;
  EXPECT_EQ(ToHex(*m1), j["messages"][0].get<std::string>());
  EXPECT_EQ(ToHex(*m2), j["messages"][1].get<std::string>());
  EXPECT_EQ(ToHex(*m3), j["messages"][2].get<std::string>());
  EXPECT_EQ(ToHex(init.split().rx), j["initiator"]["rx"].get<std::string>());
  EXPECT_EQ(ToHex(init.split().tx), j["initiator"]["tx"].get<std::string>());
  EXPECT_EQ(ToHex(resp.split().rx), j["responder"]["rx"].get<std::string>());
  EXPECT_EQ(ToHex(resp.split().tx), j["responder"]["tx"].get<std::string>());

  XSalsa20 x(Bytes(24, 7), Bytes(32, 9));
  Bytes stream(1000, 0);
  size_t pos = 0;
  for (size_t n : {1, 999}) {
    x.Xor(MutableByteView(stream).subspan(pos, n));
    pos += n;
  }
  EXPECT_EQ(ToHex(stream), j["xsalsa20"].get<std::string>());
}

}  // namespace
}  // namespace hyper::protocol
