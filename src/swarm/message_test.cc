#include "hyper/swarm/message.h"

#include <gtest/gtest.h>

#include "hyper/swarm/compact_address.h"
#include "hyper/swarm/peers_message.h"
#include "hyper/util/protobuf.h"

namespace hyper::swarm {
namespace {

Message FullMessage() {
  Message m;
  m.version = 1;
  m.type = MessageType::kResponse;
  m.rid = 513;
  m.to = Bytes{127, 0, 0, 2, 0x1f, 0x90};
  m.id = Bytes(32, 0xaa);
  m.target = Bytes(32, 0xbb);
  m.closer_nodes = Bytes(38, 0x01);
  m.roundtrip_token = Bytes(32, 0xcc);
  m.command = "peers";
  m.error = "Unsupported command";
  m.value = Bytes{1, 2, 3};
  return m;
}

TEST(DhtMessage, RoundTripsEveryField) {
  const Message m = FullMessage();
  auto back = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
}

TEST(DhtMessage, EncodesInTheReferenceFieldOrder) {
  // version (field 11) first, then type, rid, to (field 10), id: as dht-rpc's generated
  // encoder writes them.
  Message m;
  m.version = 1;
  m.type = MessageType::kQuery;
  m.rid = 5;
  m.to = Bytes{127, 0, 0, 1, 0, 80};
  m.command = "_ping";
  const Bytes expected = {88, 1, 8,  1,  16, 5,   82,  6,   127, 0,  0,
                          1,  0, 80, 58, 5,  '_', 'p', 'i', 'n', 'g'};
  EXPECT_EQ(EncodeMessage(m), expected);
}

TEST(DhtMessage, RejectsMissingOrUnknownTypeAndMissingRid) {
  pb::Writer no_type;
  no_type.Varint(2, 7);
  auto r = DecodeMessage(no_type.data());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("type is missing"), std::string::npos);

  pb::Writer no_rid;
  no_rid.Varint(1, 1);
  r = DecodeMessage(no_rid.data());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rid is missing"), std::string::npos);

  pb::Writer bad_type;
  bad_type.Varint(1, 9);
  bad_type.Varint(2, 1);
  r = DecodeMessage(bad_type.data());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("type is 9"), std::string::npos);
}

TEST(DhtMessage, EnforcesTheLimitOfEveryBytesField) {
  struct Case {
    uint32_t field;
    size_t limit;
  };
  for (const Case c : {Case{10, MessageLimits::kMaxTo}, Case{3, MessageLimits::kMaxId},
                       Case{4, MessageLimits::kMaxTarget}, Case{5, MessageLimits::kMaxCloserNodes},
                       Case{6, MessageLimits::kMaxToken}, Case{7, MessageLimits::kMaxCommand},
                       Case{8, MessageLimits::kMaxError}, Case{9, MessageLimits::kMaxValue}}) {
    for (size_t size : {c.limit, c.limit + 1}) {
      pb::Writer w;
      w.Varint(1, 1);
      w.Varint(2, 1);
      w.BytesField(c.field, Bytes(size, 'x'));
      auto r = DecodeMessage(w.data());
      EXPECT_EQ(r.ok(), size == c.limit) << "field " << c.field << " size " << size;
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), Code::kCorruption);
      }
    }
  }
}

TEST(DhtMessage, RejectsWrongWireTypesAndTruncation) {
  pb::Writer w;
  w.Varint(1, 1);
  w.Varint(2, 1);
  w.Varint(3, 42);  // id as a varint
  EXPECT_FALSE(DecodeMessage(w.data()).ok());
  Bytes full = EncodeMessage(FullMessage());
  for (size_t cut = 1; cut < full.size(); ++cut) {
    auto r = DecodeMessage(ByteView(full).first(cut));
    if (r.ok()) {
      EXPECT_NE(*r, FullMessage());  // a cut at a field boundary decodes fewer fields
    }
  }
}

TEST(DhtMessage, SkipsUnknownFields) {
  pb::Writer w;
  w.Varint(1, 3);
  w.Varint(2, 9);
  w.BytesField(20, Bytes{1, 2});
  auto r = DecodeMessage(w.data());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rid, 9u);
  EXPECT_EQ(r->type, MessageType::kResponse);
}

TEST(DhtHolepunch, RoundTripsAndBoundsItsPeers) {
  Holepunch h{Bytes{1, 2, 3, 4, 0, 5}, Bytes{5, 6, 7, 8, 0, 9}};
  auto back = DecodeHolepunch(EncodeHolepunch(h));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  pb::Writer big;
  big.BytesField(3, Bytes(100, 1));
  EXPECT_FALSE(DecodeHolepunch(big.data()).ok());
}

TEST(PeersMessages, RoundTripAndLimits) {
  PeersInput in{8080, Bytes{192, 168, 1, 2, 0x1f, 0x90}, true};
  auto in_back = DecodePeersInput(EncodePeersInput(in));
  ASSERT_TRUE(in_back.ok());
  EXPECT_EQ(*in_back, in);
  PeersOutput out{Bytes(12, 7), Bytes(8, 9)};
  auto out_back = DecodePeersOutput(EncodePeersOutput(out));
  ASSERT_TRUE(out_back.ok());
  EXPECT_EQ(*out_back, out);
  // An empty value is an empty input (what a lookup without options sends).
  auto empty = DecodePeersInput({});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->port.has_value());

  pb::Writer too_many;
  too_many.BytesField(1, Bytes(PeersLimits::kMaxPeers * 6 + 6, 1));
  EXPECT_FALSE(DecodePeersOutput(too_many.data()).ok());
  pb::Writer long_local;
  long_local.BytesField(2, Bytes(7, 1));
  EXPECT_FALSE(DecodePeersInput(long_local.data()).ok());
  pb::Writer huge_port;
  huge_port.Varint(1, 1ULL << 40);
  EXPECT_FALSE(DecodePeersInput(huge_port.data()).ok());
}

TEST(CompactAddress, PeersAndNodesAsIpv4PeersLaysThemOut) {
  auto six = EncodePeer({"127.0.0.2", 0x1234});
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(*six, (Bytes{127, 0, 0, 2, 0x12, 0x34}));
  EXPECT_EQ(DecodePeer(*six), (UdpEndpoint{"127.0.0.2", 0x1234}));
  EXPECT_FALSE(DecodePeer(Bytes{1, 2, 3, 4, 0, 0}).has_value());  // port 0
  EXPECT_FALSE(EncodePeer({"::1", 1}).ok());
  EXPECT_FALSE(EncodePeer({"1.2.3.256", 1}).ok());

  NodeRecord n{NodeId{}, {"10.0.0.1", 49737}};
  n.id.fill(0x42);
  Bytes nodes = EncodeNodes({n, n});
  ASSERT_EQ(nodes.size(), 2 * kNodeBytes);
  EXPECT_EQ(nodes[32], 10);
  auto back = DecodeNodes(nodes, 64);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1], n);
  // At most `max` records decode; a trailing partial record is ignored.
  nodes.push_back(1);
  EXPECT_EQ(DecodeNodes(nodes, 1)->size(), 1u);
  EXPECT_EQ(DecodeNodes(nodes, 64)->size(), 2u);
  EXPECT_FALSE(DecodePeers(Bytes(7, 1), 10).ok());
  EXPECT_FALSE(DecodePeers(Bytes(12, 1), 1).ok());
}

TEST(CompactAddress, ParsesHostPort) {
  EXPECT_EQ(*ParseHostPort("127.0.0.2:49737"), (UdpEndpoint{"127.0.0.2", 49737}));
  EXPECT_FALSE(ParseHostPort("127.0.0.2").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.2:70000").ok());
  EXPECT_FALSE(ParseHostPort("example.org:1").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.2:1x").ok());
}

}  // namespace
}  // namespace hyper::swarm
