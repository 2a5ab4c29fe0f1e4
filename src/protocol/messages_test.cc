#include "hyper/protocol/messages.h"

#include <gtest/gtest.h>

#include "hyper/util/protobuf.h"
#include "hyper/util/varint.h"

namespace hyper::protocol {
namespace {

std::vector<Message> AllMessages() {
  DataMessage data;
  data.index = 7;
  data.value = ToBytes("hello");
  DataNode n;
  n.index = 14;
  n.hash.fill(3);
  n.size = 99;
  data.nodes = {n, n};
  crypto::Signature sig{};
  sig.fill(9);
  data.signature = sig;
  ExtensionMessage ext;
  ext.id = 300;
  ext.payload = ToBytes("ext");
  return {OpenMessage{Bytes(32, 1), Bytes(32, 2)},
          OptionsMessage{{"a", "bb"}, true},
          StatusMessage{false, true},
          HaveMessage{5, 10, Bytes{1, 2}, false},
          UnhaveMessage{1, std::nullopt},
          WantMessage{0, 1024 * 1024},
          UnwantMessage{8192, 8192},
          RequestMessage{3, 0, false, 12},
          CancelMessage{3, std::nullopt, true},
          data,
          CloseMessage{Bytes(32, 4)},
          ext};
}

TEST(Messages, RoundTripEveryType) {
  for (const Message& m : AllMessages()) {
    Bytes body = EncodeBody(m);
    auto back = DecodeBody(static_cast<uint8_t>(TypeOf(m)), body);
    ASSERT_TRUE(back.ok()) << TypeName(TypeOf(m)) << ": " << back.status().ToString();
    EXPECT_EQ(*back, m) << TypeName(TypeOf(m));
  }
}

TEST(Messages, FramesAreWrittenInPlaceAfterWhatTheBufferHolds) {
  // AppendFrame writes straight into the buffer: the same bytes as varint(len), header, body.
  Bytes out = {0xaa, 0xbb};
  Bytes expected = out;
  DataMessage big;
  big.index = 300;
  big.value = Bytes(200000, 7);  // length varints of 3 bytes
  std::vector<Message> all = AllMessages();
  all.push_back(big);
  for (const Message& m : all) {
    AppendFrame(out, 5, m);
    Bytes body = EncodeBody(m);
    uint64_t header = (uint64_t{5} << 4) | static_cast<uint8_t>(TypeOf(m));
    AppendVarint(expected, VarintLength(header) + body.size());
    AppendVarint(expected, header);
    expected.insert(expected.end(), body.begin(), body.end());
  }
  EXPECT_EQ(out, expected);
  // And the Data body is what the generic protobuf writer makes of it.
  pb::Writer w;
  w.Varint(1, 300);
  w.BytesField(2, *big.value);
  EXPECT_EQ(EncodeBody(big), w.data());
}

TEST(Messages, KnownBytesAsTheReferenceEncodes) {
  // Want {start: 0, length: 1048576} as protocol-buffers writes it.
  EXPECT_EQ(ToHex(EncodeBody(WantMessage{0, 1048576})), "080010808040");
  // Frame on channel 1: len, header (1 << 4 | 5), body.
  EXPECT_EQ(ToHex(EncodeFrame(1, WantMessage{0, 1048576})), "0715080010808040");
}

TEST(Messages, MissingRequiredFieldsAreCorruption) {
  EXPECT_FALSE(DecodeBody(0, {}).ok());  // Open without discovery key
  EXPECT_FALSE(DecodeBody(3, {}).ok());  // Have without start
  EXPECT_FALSE(DecodeBody(7, {}).ok());  // Request without index
  EXPECT_FALSE(DecodeBody(9, {}).ok());  // Data without index
  EXPECT_TRUE(DecodeBody(10, {}).ok());  // Close: all optional
  EXPECT_TRUE(DecodeBody(2, {}).ok());
  auto unknown = DecodeBody(12, ToBytes("whatever"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(std::holds_alternative<UnknownMessage>(*unknown));
}

TEST(Messages, WrongSizesAndTypesAreCorruption) {
  EXPECT_FALSE(DecodeBody(0, EncodeBody(OpenMessage{Bytes(31, 1), std::nullopt})).ok());
  EXPECT_FALSE(DecodeBody(0, EncodeBody(OpenMessage{Bytes(32, 1), Bytes(3, 1)})).ok());
  // Data node with a 31-byte hash: field 3 { 1: 0, 2: <31 bytes>, 3: 1 }
  pb::Writer node;
  node.Varint(1, 0);
  node.BytesField(2, Bytes(31, 0xaa));
  node.Varint(3, 1);
  pb::Writer msg;
  msg.Varint(1, 1);
  msg.Message(3, node);
  Bytes data = msg.Take();
  EXPECT_FALSE(DecodeBody(9, data).ok());
  // start sent as bytes instead of varint
  EXPECT_FALSE(DecodeBody(5, Bytes{0x0a, 0x01, 0x00}).ok());
}

TEST(Messages, TooManyNodesIsRejected) {
  DataMessage d;
  d.index = 1;
  d.nodes.resize(300);
  Limits limits;
  EXPECT_FALSE(DecodeBody(9, EncodeBody(d), limits).ok());
  limits.max_data_nodes = 400;
  EXPECT_TRUE(DecodeBody(9, EncodeBody(d), limits).ok());
}

TEST(Messages, NoisePayload) {
  Bytes nonce(24, 5);
  auto back = DecodeNoisePayload(EncodeNoisePayload(nonce));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Bytes(back->begin(), back->end()), nonce);
  EXPECT_FALSE(DecodeNoisePayload(EncodeNoisePayload(Bytes(23, 5))).ok());
  EXPECT_FALSE(DecodeNoisePayload({}).ok());
}

TEST(FrameDecoder, AnySlicingGivesTheSameFrames) {
  Bytes stream;
  for (const Message& m : AllMessages()) AppendFrame(stream, 3, m);
  stream.push_back(0);  // keep-alive
  for (size_t chunk : {1, 2, 3, 7, 64, 100000}) {
    FrameDecoder dec;
    std::vector<Message> got;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      ByteView piece = ByteView(stream).subspan(i, std::min(chunk, stream.size() - i));
      ASSERT_TRUE(dec.Feed(piece,
                           [&](uint64_t ch, uint8_t type, ByteView body) {
                             EXPECT_EQ(ch, 3u);
                             auto m = DecodeBody(type, body);
                             if (!m.ok()) return m.status();
                             got.push_back(*m);
                             return Status::Ok();
                           })
                      .ok());
    }
    EXPECT_EQ(got, AllMessages());
    EXPECT_EQ(dec.keep_alives(), 1u);
    EXPECT_TRUE(dec.idle());
  }
}

TEST(FrameDecoder, HostileLengthsAreRejected) {
  auto nop = [](uint64_t, uint8_t, ByteView) { return Status::Ok(); };
  {
    FrameDecoder dec;
    Bytes huge;
    AppendVarint(huge, 9 * 1024 * 1024);
    EXPECT_FALSE(dec.Feed(huge, nop).ok());
    EXPECT_FALSE(dec.Feed(Bytes{0}, nop).ok());  // stays broken
  }
  {
    FrameDecoder dec;
    Bytes endless(12, 0xff);
    EXPECT_FALSE(dec.Feed(endless, nop).ok());
  }
  {
    FrameDecoder dec;
    Bytes frame;
    AppendFrame(frame, 100000, StatusMessage{});
    EXPECT_FALSE(dec.Feed(frame, nop).ok());
  }
}

TEST(Rle, KnownEncodings) {
  // 4 bytes of 0xff then zeros: a repeat run.
  Bytes bits = {0xff, 0xff, 0xff, 0xff, 0, 0};
  Bytes enc = RleEncode(bits);
  EXPECT_EQ(ToHex(enc), "13");  // 4 << 2 | 1 << 1 | 1
  auto dec = RleDecode(enc, 1024);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, (Bytes{0xff, 0xff, 0xff, 0xff}));
  // Literal bytes.
  Bytes lit = {0x80, 0x01};
  EXPECT_EQ(ToHex(RleEncode(lit)), "048001");
  EXPECT_TRUE(RleEncode(Bytes(100, 0)).empty());
}

TEST(Rle, RoundTripsRandomBitfields) {
  uint32_t seed = 1;
  for (int round = 0; round < 200; ++round) {
    Bytes bits(round * 3 % 97 + 1);
    for (auto& b : bits) {
      seed = seed * 1103515245 + 12345;
      int r = (seed >> 16) % 4;
      b = r == 0 ? 0 : r == 1 ? 0xff : static_cast<uint8_t>(seed >> 8);
    }
    auto dec = RleDecode(RleEncode(bits), 1 << 20, 1);
    ASSERT_TRUE(dec.ok());
    Bytes expect = bits;
    while (!expect.empty() && expect.back() == 0) expect.pop_back();
    EXPECT_EQ(*dec, expect);
  }
}

TEST(Rle, DecodingToGigabytesIsRefusedWithoutAllocating) {
  Bytes bomb;
  AppendVarint(bomb, (uint64_t{1} << 40) * 4 + 3);  // 1 TiB of 0xff
  auto r = RleDecode(bomb, 1 << 20);
  EXPECT_FALSE(r.ok());
  Bytes many;
  for (int i = 0; i < 1000; ++i) AppendVarint(many, uint64_t{4096} * 4 + 1);
  EXPECT_FALSE(RleDecode(many, 1 << 20).ok());            // 4 MiB in small runs
  EXPECT_FALSE(RleDecode(Bytes{0x10, 0x01}, 1024).ok());  // literal run of 8, truncated
}

}  // namespace
}  // namespace hyper::protocol
