// The uTP packet codec against packets written out byte by byte from BEP 29's layout.
#include "hyper/utp/packet.h"

#include <gtest/gtest.h>

namespace hyper::utp {
namespace {

// A STATE packet: type 2 version 1, no extension, connection id 0x1234, timestamp 0x01020304,
// difference 0x05060708, window 0x00100000, seq 0xfffe, ack 0x0001.
Bytes StatePacket() {
  return {0x21, 0x00, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
          0x07, 0x08, 0x00, 0x10, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x01};
}

TEST(UtpPacket, DecodesTheHeaderFieldsOfTheBep) {
  const Bytes wire = StatePacket();
  auto p = DecodePacket(wire);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->header.type, PacketType::kState);
  EXPECT_EQ(p->header.connection_id, 0x1234);
  EXPECT_EQ(p->header.timestamp_us, 0x01020304u);
  EXPECT_EQ(p->header.timestamp_difference_us, 0x05060708u);
  EXPECT_EQ(p->header.wnd_size, 0x00100000u);
  EXPECT_EQ(p->header.seq_nr, 0xfffe);
  EXPECT_EQ(p->header.ack_nr, 0x0001);
  EXPECT_FALSE(p->has_selective_ack);
  EXPECT_TRUE(p->payload.empty());
  EXPECT_EQ(EncodePacket(p->header, {}), wire);
}

TEST(UtpPacket, DecodesASelectiveAckAndThePayloadAfterIt) {
  // DATA (type 0) with extension 1: next 0, length 4, mask 0b00000101 0 0 0x80; payload "hi".
  Bytes wire = StatePacket();
  wire[0] = 0x01;
  wire[1] = 0x01;
  const Bytes ext = {0x00, 0x04, 0x05, 0x00, 0x00, 0x80, 'h', 'i'};
  wire.insert(wire.end(), ext.begin(), ext.end());
  auto p = DecodePacket(wire);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->header.type, PacketType::kData);
  ASSERT_TRUE(p->has_selective_ack);
  EXPECT_EQ(ToBytes(p->selective_ack), (Bytes{0x05, 0x00, 0x00, 0x80}));
  EXPECT_EQ(AsString(p->payload), "hi");
  EXPECT_EQ(EncodePacket(p->header, p->payload, true, p->selective_ack), wire);
}

TEST(UtpPacket, ASelectiveAckOfAnyLengthTheByteHoldsRoundTrips) {
  // Regression (found by the fuzzer): a 253..255-byte mask was cut to 252 when re-encoded.
  PacketHeader h;
  h.type = PacketType::kState;
  const Bytes mask(255, 0xa5);
  const Bytes wire = EncodePacket(h, {}, true, mask);
  EXPECT_EQ(wire.size(), kHeaderSize + 2 + 255);
  auto p = DecodePacket(wire);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ToBytes(p->selective_ack), mask);
}

TEST(UtpPacket, SkipsUnknownExtensionsAndAcceptsExtensionBits) {
  // SYN (type 4): extension 7 (unknown, 3 bytes) -> extension 2 (8 bytes) -> end; payload "x".
  Bytes wire = StatePacket();
  wire[0] = 0x41;
  wire[1] = 7;
  const Bytes ext = {0x02, 3, 9, 9, 9, 0x00, 8, 0, 0, 0, 0, 0, 0, 0, 0, 'x'};
  wire.insert(wire.end(), ext.begin(), ext.end());
  auto p = DecodePacket(wire);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->header.type, PacketType::kSyn);
  EXPECT_FALSE(p->has_selective_ack);
  EXPECT_EQ(AsString(p->payload), "x");
}

TEST(UtpPacket, RejectsWhatIsMalformedWithTheReason) {
  const Bytes good = StatePacket();
  auto expect_corrupt = [](const Bytes& wire, const std::string& why) {
    auto p = DecodePacket(wire);
    ASSERT_FALSE(p.ok()) << why;
    EXPECT_EQ(p.status().code(), Code::kCorruption);
    EXPECT_NE(p.status().message().find(why), std::string::npos) << p.status().message();
  };
  expect_corrupt(Bytes(good.begin(), good.begin() + 19), "shorter than the 20-byte header");
  expect_corrupt({}, "shorter than the 20-byte header");
  Bytes v2 = good;
  v2[0] = 0x22;
  expect_corrupt(v2, "version 2");
  Bytes type5 = good;
  type5[0] = 0x51;
  expect_corrupt(type5, "unknown packet type 5");
  Bytes dangling = good;
  dangling[1] = 1;  // a selective ack announced, nothing after the header
  expect_corrupt(dangling, "header runs past the end");
  Bytes half = good;
  half[1] = 1;
  half.insert(half.end(), {0x00, 0x08, 1, 2, 3});  // 8 bytes announced, 3 there
  expect_corrupt(half, "runs past the end");
  Bytes bits = good;
  bits[1] = 2;
  bits.insert(bits.end(), {0x00, 0x04, 1, 2, 3, 4});
  expect_corrupt(bits, "extension bits of 4 bytes");
  Bytes loop = good;  // a chain that never ends: the last link names another extension
  loop[1] = 9;
  loop.insert(loop.end(), {9, 0, 9, 0, 9, 0});
  expect_corrupt(loop, "header runs past the end");
}

TEST(UtpPacket, TellsUtpDatagramsFromOthers) {
  EXPECT_TRUE(IsUtpDatagram(StatePacket()));
  Bytes dht = StatePacket();
  dht[0] = 0x08;  // a protobuf message of dht-rpc starts with field 1's tag (0x08)
  EXPECT_FALSE(IsUtpDatagram(dht));
  EXPECT_FALSE(IsUtpDatagram(Bytes(19, 0x01)));
}

TEST(UtpPacket, EncodesEveryTypeInTheHighNibble) {
  for (uint8_t t = 0; t <= 4; ++t) {
    PacketHeader h;
    h.type = static_cast<PacketType>(t);
    h.seq_nr = 7;
    const Bytes wire = EncodePacket(h, AsBytes("abc"));
    EXPECT_EQ(wire[0], (t << 4) | 1);
    auto back = DecodePacket(wire);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->header, h);
  }
}

}  // namespace
}  // namespace hyper::utp
