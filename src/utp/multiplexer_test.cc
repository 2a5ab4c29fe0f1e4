// The Multiplexer and the Connection as seen on the wire: the handshake's fields as libutp sets
// them, selective acks, RESETs, datagrams that are not uTP's, and a flood of bogus packets.
#include "hyper/utp/multiplexer.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "hyper/runtime/virtual_clock.h"

namespace hyper::utp {
namespace {

using runtime::UdpEndpoint;
using namespace std::chrono_literals;

const UdpEndpoint kA{"10.0.0.1", 1000};
const UdpEndpoint kB{"10.0.0.2", 2000};

struct Sent {
  UdpEndpoint to;
  Bytes datagram;
  PacketHeader header() const { return DecodePacket(datagram)->header; }
};

// Two multiplexers whose datagrams the test carries by hand (or drops).
struct Pair {
  runtime::VirtualClock clock;
  std::vector<Sent> from_a, from_b;
  std::unique_ptr<Multiplexer> a, b;
  std::shared_ptr<Connection> accepted;
  Bytes received_by_b;

  explicit Pair(uint32_t a_first = 100, uint32_t b_first = 5000) {
    MultiplexerOptions oa;
    oa.random = [n = a_first]() mutable { return n++; };
    MultiplexerOptions ob;
    ob.random = [n = b_first]() mutable { return n++; };
    a = std::make_unique<Multiplexer>(
        clock,
        [this](const UdpEndpoint& to, ByteView d) {
          from_a.push_back({to, ToBytes(d)});
        },
        oa);
    b = std::make_unique<Multiplexer>(
        clock,
        [this](const UdpEndpoint& to, ByteView d) {
          from_b.push_back({to, ToBytes(d)});
        },
        ob);
    b->set_accept([this](const std::shared_ptr<Connection>& c, const UdpEndpoint&) {
      accepted = c;
      ConnectionCallbacks cb;
      cb.on_data = [this](ByteView d) {
        received_by_b.insert(received_by_b.end(), d.begin(), d.end());
      };
      c->set_callbacks(std::move(cb));
    });
  }
  void ToB(const Sent& s) { ASSERT_TRUE(b->OnDatagram(kA, s.datagram)); }
  void ToA(const Sent& s) { ASSERT_TRUE(a->OnDatagram(kB, s.datagram)); }
};

TEST(UtpMultiplexer, HandshakeCarriesTheIdsAndNumbersAsLibutp) {
  Pair p;
  bool connected = false;
  ConnectionCallbacks cb;
  cb.on_connect = [&] { connected = true; };
  auto c = p.a->Connect(kB, cb);
  ASSERT_TRUE(c.ok());
  // The SYN: sent with our receive id (100), sequence number the next random (101), ack 0.
  ASSERT_EQ(p.from_a.size(), 1u);
  const PacketHeader syn = p.from_a[0].header();
  EXPECT_EQ(syn.type, PacketType::kSyn);
  EXPECT_EQ(syn.connection_id, 100);
  EXPECT_EQ(syn.seq_nr, 101);
  EXPECT_EQ(syn.ack_nr, 0);
  EXPECT_EQ(p.from_a[0].to, kB);
  EXPECT_EQ((*c)->send_id(), 101);
  p.ToB(p.from_a[0]);
  // The acceptor's STATE: sent with the SYN's id, its own random sequence, acking the SYN.
  ASSERT_TRUE(p.accepted);
  EXPECT_EQ(p.accepted->receive_id(), 101);
  EXPECT_EQ(p.accepted->state(), Connection::State::kSynReceived);
  ASSERT_EQ(p.from_b.size(), 1u);
  const PacketHeader state = p.from_b[0].header();
  EXPECT_EQ(state.type, PacketType::kState);
  EXPECT_EQ(state.connection_id, 100);
  EXPECT_EQ(state.seq_nr, 5000);
  EXPECT_EQ(state.ack_nr, 101);
  EXPECT_EQ(state.timestamp_difference_us, 0u);
  // The acceptor cannot write before the initiator's first packet: queued.
  EXPECT_EQ(p.accepted->Write(AsBytes("later")), 5u);
  EXPECT_EQ(p.from_b.size(), 1u);
  p.ToA(p.from_b[0]);
  EXPECT_TRUE(connected);
  // The first DATA: sent with the send id, the next sequence number, acking STATE's seq - 1.
  ASSERT_EQ((*c)->Write(AsBytes("hello")), 5u);
  ASSERT_EQ(p.from_a.size(), 2u);
  const auto data = DecodePacket(p.from_a[1].datagram);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->header.type, PacketType::kData);
  EXPECT_EQ(data->header.connection_id, 101);
  EXPECT_EQ(data->header.seq_nr, 102);
  EXPECT_EQ(data->header.ack_nr, 4999);
  EXPECT_EQ(AsString(data->payload), "hello");
  p.ToB(p.from_a[1]);
  EXPECT_EQ(AsString(p.received_by_b), "hello");
  // B is connected now: its queued DATA (seq 5000) goes, then its ack of 102.
  ASSERT_EQ(p.from_b.size(), 3u);
  EXPECT_EQ(p.from_b[1].header().type, PacketType::kData);
  EXPECT_EQ(p.from_b[1].header().seq_nr, 5000);
  EXPECT_EQ(p.from_b[2].header().type, PacketType::kState);
  EXPECT_EQ(p.from_b[2].header().ack_nr, 102);
}

TEST(UtpMultiplexer, ARepeatedSynIsAnsweredAgain) {
  Pair p;
  auto c = p.a->Connect(kB, {});
  ASSERT_TRUE(c.ok());
  p.ToB(p.from_a[0]);
  ASSERT_EQ(p.from_b.size(), 1u);  // this STATE is "lost"
  p.clock.Advance(3s);             // the initiator's SYN timeout
  ASSERT_EQ(p.from_a.size(), 2u);
  EXPECT_EQ(p.from_a[1].header().type, PacketType::kSyn);
  p.ToB(p.from_a[1]);
  EXPECT_EQ(p.b->connections(), 1u);
  ASSERT_EQ(p.from_b.size(), 2u);
  p.ToA(p.from_b[1]);
  EXPECT_EQ((*c)->state(), Connection::State::kConnected);
}

TEST(UtpMultiplexer, SelectiveAckReportsWhatArrivedOutOfOrderAndTriggersAResend) {
  Pair p;
  auto c = p.a->Connect(kB, {});
  ASSERT_TRUE(c.ok());
  size_t da = 0, db = 0;  // datagrams carried so far each way
  // Carries everything both ways, a millisecond per hop (delays are measured on the clock).
  auto carry = [&] {
    while (da < p.from_a.size() || db < p.from_b.size()) {
      p.clock.Advance(1ms);
      while (da < p.from_a.size()) p.ToB(p.from_a[da++]);
      p.clock.Advance(1ms);
      while (db < p.from_b.size()) p.ToA(p.from_b[db++]);
    }
  };
  carry();
  ASSERT_EQ((*c)->state(), Connection::State::kConnected);
  // Grow A's window (slow start) to more than five packets.
  const Bytes chunk(1382, 'x');
  for (int i = 0; i < 200 && (*c)->max_window() < 6 * chunk.size(); ++i) {
    ASSERT_EQ((*c)->Write(chunk), chunk.size());
    carry();
  }
  ASSERT_GE((*c)->max_window(), 6 * chunk.size());
  // Five packets in flight; all but the first reach B.
  const size_t start = p.from_a.size();
  for (int i = 0; i < 5; ++i) ASSERT_EQ((*c)->Write(chunk), chunk.size());
  ASSERT_EQ(p.from_a.size() - start, 5u);
  const uint16_t first = p.from_a[start].header().seq_nr;
  p.clock.Advance(1ms);
  for (size_t i = start + 1; i < start + 5; ++i) p.ToB(p.from_a[i]);
  da = p.from_a.size();
  const auto ack = DecodePacket(p.from_b.back().datagram);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->header.ack_nr, static_cast<uint16_t>(first - 1));
  ASSERT_TRUE(ack->has_selective_ack);
  ASSERT_EQ(ack->selective_ack.size(), 4u);
  // first+1 .. first+4 arrived: bits 0..3 of the mask (ack_nr + 2 is bit 0).
  EXPECT_EQ(ack->selective_ack[0], 0x0f);
  EXPECT_EQ(ack->selective_ack[1], 0);
  EXPECT_EQ(p.accepted->reorder_packets(), 4u);
  // A honours the acks: once three packets past the hole are acked, the hole goes again at once
  // (no timeout), and the acked ones leave the send buffer.
  const size_t before_a = p.from_a.size();
  p.clock.Advance(1ms);
  while (db < p.from_b.size()) p.ToA(p.from_b[db++]);
  EXPECT_EQ((*c)->stats().fast_resends, 1u);
  EXPECT_EQ((*c)->stats().timeouts, 0u);
  ASSERT_EQ(p.from_a.size(), before_a + 1);
  EXPECT_EQ(p.from_a.back().header().type, PacketType::kData);
  EXPECT_EQ(p.from_a.back().header().seq_nr, first);
  EXPECT_EQ((*c)->unacknowledged_bytes(), chunk.size());
  // The resent packet fills the hole: B delivers all five, in order.
  const size_t received = p.received_by_b.size();
  carry();
  EXPECT_EQ(p.received_by_b.size(), received + 5 * chunk.size());
  EXPECT_EQ((*c)->unacknowledged_bytes(), 0u);
}

// utp-native acks on its own DATA packets, without a selective ack, while it has data to
// send; then its FIN, then silence. A hole at the head of our packets was therefore never
// found by a selective ack: it waited for the retransmission timeout (at least 1 s) after
// Node's FIN, in every run of the interop echo test. Here B's answers are replaced by such
// packets: our oldest packet must go again within a few round trips, not after a timeout.
TEST(UtpMultiplexer, AHoleAckedOnlyByThePeersDataIsResentWithoutATimeout) {
  Pair p;
  auto c = p.a->Connect(kB, {});
  ASSERT_TRUE(c.ok());
  size_t da = 0, db = 0;
  auto carry = [&] {
    while (da < p.from_a.size() || db < p.from_b.size()) {
      p.clock.Advance(1ms);
      while (da < p.from_a.size()) p.ToB(p.from_a[da++]);
      p.clock.Advance(1ms);
      while (db < p.from_b.size()) p.ToA(p.from_b[db++]);
    }
  };
  carry();
  const Bytes chunk(1382, 'x');
  for (int i = 0; i < 200 && (*c)->max_window() < 6 * chunk.size(); ++i) {
    ASSERT_EQ((*c)->Write(chunk), chunk.size());
    carry();
  }
  ASSERT_GE((*c)->max_window(), 6 * chunk.size());
  // More than the window takes (A has more to send: no tail); of the packets that go, the
  // first is lost, the others reach B, whose own answers are lost.
  const size_t start = p.from_a.size();
  for (int i = 0; i < 40; ++i) ASSERT_EQ((*c)->Write(chunk), chunk.size());
  ASSERT_GE(p.from_a.size() - start, 5u);
  ASSERT_LT(p.from_a.size() - start, 40u);
  const uint16_t first = p.from_a[start].header().seq_nr;
  p.clock.Advance(1ms);
  for (size_t i = start + 1; i < p.from_a.size(); ++i) p.ToB(p.from_a[i]);
  da = p.from_a.size();
  db = p.from_b.size();
  // What B says instead, as utp-native would: DATA acking the packet before the hole, no
  // selective ack, every 2 ms; then its FIN; then nothing.
  PacketHeader h;
  h.connection_id = p.accepted->send_id();
  h.seq_nr = p.from_b.back().header().seq_nr;
  h.ack_nr = static_cast<uint16_t>(first - 1);
  h.wnd_size = 1 << 20;
  const Bytes payload(100, 'y');
  for (int i = 0; i < 4; ++i) {
    p.clock.Advance(2ms);
    h.type = i < 3 ? PacketType::kData : PacketType::kFin;
    h.timestamp_us = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(p.clock.Now().time_since_epoch())
            .count());
    ASSERT_TRUE(p.a->OnDatagram(kB, EncodePacket(h, i < 3 ? ByteView(payload) : ByteView())));
    ++h.seq_nr;
  }
  const auto fin_at = p.clock.Now();
  auto resent = [&] {
    for (size_t i = da; i < p.from_a.size(); ++i) {
      const PacketHeader sent = p.from_a[i].header();
      if (sent.type == PacketType::kData && sent.seq_nr == first) return true;
    }
    return false;
  };
  while (!resent() && p.clock.Now() - fin_at < 2s) p.clock.Advance(1ms);
  ASSERT_TRUE(resent());
  EXPECT_LT(p.clock.Now() - fin_at, 50ms);
  EXPECT_EQ((*c)->stats().timeouts, 0u);
  EXPECT_EQ((*c)->stats().fast_resends, 1u);
}

TEST(UtpMultiplexer, LeavesDatagramsThatAreNotUtpToTheCaller) {
  Pair p;
  // A dht-rpc message (protobuf: field 1 varint, 0x08) and short junk.
  Bytes dht = {0x08, 0x01, 0x10, 0x02, 0x1a, 0x04, 't', 'e', 's', 't', 0x22, 0x20};
  dht.resize(60, 0x55);
  EXPECT_FALSE(p.b->OnDatagram(kA, dht));
  EXPECT_FALSE(p.b->OnDatagram(kA, AsBytes("hello")));
  EXPECT_TRUE(p.from_b.empty());
  EXPECT_EQ(p.b->stats().claimed, 0u);
}

TEST(UtpMultiplexer, AnswersAPacketForNoConnectionWithOneReset) {
  Pair p;
  PacketHeader h;
  h.type = PacketType::kData;
  h.connection_id = 777;
  h.seq_nr = 42;
  const Bytes stray = EncodePacket(h, AsBytes("?"));
  EXPECT_TRUE(p.b->OnDatagram(kA, stray));
  ASSERT_EQ(p.from_b.size(), 1u);
  const PacketHeader reset = p.from_b[0].header();
  EXPECT_EQ(reset.type, PacketType::kReset);
  EXPECT_EQ(reset.connection_id, 777);
  EXPECT_EQ(reset.ack_nr, 42);
  // The same packet again within 10 s: no second RESET; after 10 s, one again.
  EXPECT_TRUE(p.b->OnDatagram(kA, stray));
  EXPECT_EQ(p.from_b.size(), 1u);
  p.clock.Advance(10s);
  EXPECT_TRUE(p.b->OnDatagram(kA, stray));
  EXPECT_EQ(p.from_b.size(), 2u);
}

TEST(UtpMultiplexer, AResetClosesTheConnectionWithAnError) {
  Pair p;
  Status closed;
  bool was_closed = false;
  ConnectionCallbacks cb;
  cb.on_close = [&](const Status& s) {
    was_closed = true;
    closed = s;
  };
  auto c = p.a->Connect(kB, cb);
  ASSERT_TRUE(c.ok());
  p.ToB(p.from_a[0]);
  p.ToA(p.from_b[0]);
  ASSERT_EQ((*c)->Write(AsBytes("x")), 1u);
  p.ToB(p.from_a.back());
  p.accepted->Abort();  // sends a RESET with its send id (A's receive id)
  EXPECT_TRUE(p.accepted->closed());
  ASSERT_EQ(p.from_b.back().header().type, PacketType::kReset);
  p.ToA(p.from_b.back());
  EXPECT_TRUE(was_closed);
  EXPECT_EQ(closed.code(), Code::kIOError);
  EXPECT_NE(closed.message().find("reset by peer"), std::string::npos);
  p.clock.Advance(1ms);
  EXPECT_EQ(p.a->connections(), 0u);
  EXPECT_EQ(p.b->connections(), 0u);
}

TEST(UtpMultiplexer, AFloodOfBogusPacketsLeavesStateBounded) {
  runtime::VirtualClock clock;
  size_t sent_bytes = 0;
  MultiplexerOptions options;
  options.max_connections = 50;
  Multiplexer mux(
      clock, [&](const UdpEndpoint&, ByteView d) { sent_bytes += d.size(); }, options);
  mux.set_accept([](const std::shared_ptr<Connection>&, const UdpEndpoint&) {});
  std::mt19937 rng(9);
  for (int i = 0; i < 200000; ++i) {
    Bytes d(20 + rng() % 60);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    d[0] = static_cast<uint8_t>(((rng() % 6) << 4) | 1);  // version 1, types 0..5
    if (rng() % 4 == 0) d[1] = 0;
    const UdpEndpoint from{"10.1." + std::to_string(rng() % 200) + ".1", 1};
    EXPECT_TRUE(mux.OnDatagram(from, d));
    if (i % 1000 == 0) clock.Advance(100ms);
  }
  EXPECT_LE(mux.connections(), 50u);
  // RESETs: at most 1000 in any 10 s (20 s of virtual time passed: at most 3 windows).
  EXPECT_LE(mux.stats().resets_sent, 3000u);
  EXPECT_GT(mux.stats().malformed, 0u);
  EXPECT_GT(mux.stats().syns_refused, 0u);
}

}  // namespace
}  // namespace hyper::utp
