#include "hyper/swarm/rpc.h"

#include <gtest/gtest.h>

#include "hyper/runtime/virtual_clock.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;

struct Sent {
  UdpEndpoint to;
  Bytes datagram;
  runtime::TimePoint at;
};

TEST(Rpc, ResendsTwiceThenTimesOutAfterSevenAndAHalfSeconds) {
  runtime::VirtualClock clock;
  std::vector<Sent> sent;
  Rpc rpc(clock, [&](const UdpEndpoint& to, ByteView d) {
    sent.push_back({to, ToBytes(d), clock.Now()});
  });
  const auto start = clock.Now();
  std::optional<Status> result;
  runtime::TimePoint done_at;
  Message ping;
  ping.command = "_ping";
  rpc.Request(ping, {{"127.0.0.2", 9}, std::nullopt}, [&](Result<Message> r, const UdpEndpoint&) {
    result = r.status();
    done_at = clock.Now();
  });
  ASSERT_EQ(sent.size(), 1u);
  clock.Advance(7499ms);
  EXPECT_FALSE(result.has_value());
  ASSERT_EQ(sent.size(), 3u);  // the first send and two resends
  EXPECT_EQ(sent[1].at - start, 2250ms);
  EXPECT_EQ(sent[2].at - start, 4500ms);
  EXPECT_EQ(sent[1].datagram, sent[0].datagram);  // the same request id
  clock.Advance(1ms);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), Code::kTimeout);
  EXPECT_EQ(done_at - start, 7500ms);
  EXPECT_EQ(rpc.inflight(), 0u);
}

TEST(Rpc, MatchesAResponseByIdAndSenderOnly) {
  runtime::VirtualClock clock;
  std::vector<Sent> sent;
  Rpc rpc(clock, [&](const UdpEndpoint& to, ByteView d) {
    sent.push_back({to, ToBytes(d), clock.Now()});
  });
  std::optional<Result<Message>> got;
  Message q;
  q.command = "_find_node";
  const UdpEndpoint peer{"127.0.0.2", 9};
  rpc.Request(q, {peer, std::nullopt},
              [&](Result<Message> r, const UdpEndpoint&) { got = std::move(r); });
  auto req = DecodeMessage(sent.at(0).datagram);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->version, kWireVersion);
  EXPECT_FALSE(req->id.has_value());  // ephemeral: no id
  EXPECT_EQ(req->to, EncodePeer(peer).value());
  Message resp;
  resp.type = MessageType::kResponse;
  resp.rid = req->rid + 1;
  EXPECT_FALSE(rpc.OnResponse(resp, peer, nullptr));  // another id
  resp.rid = req->rid;
  EXPECT_FALSE(rpc.OnResponse(resp, {"127.0.0.3", 9}, nullptr));  // another sender
  EXPECT_FALSE(got.has_value());
  EXPECT_TRUE(rpc.OnResponse(resp, peer, nullptr));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->ok());
  EXPECT_FALSE(rpc.OnResponse(resp, peer, nullptr));  // answered once
  clock.Advance(10s);
  EXPECT_EQ(sent.size(), 1u);  // no resend after the answer
}

TEST(Rpc, AResponseWithAnotherIdMarksTheNodeBad) {
  runtime::VirtualClock clock;
  std::vector<Sent> sent;
  Rpc rpc(clock, [&](const UdpEndpoint& to, ByteView d) { sent.push_back({to, ToBytes(d), {}}); });
  NodeId expected{};
  expected.fill(3);
  const UdpEndpoint peer{"127.0.0.2", 9};
  rpc.Request(Message{}, {peer, expected}, [](Result<Message>, const UdpEndpoint&) {});
  Message resp;
  resp.type = MessageType::kResponse;
  resp.rid = DecodeMessage(sent.at(0).datagram)->rid;
  resp.id = Bytes(32, 4);
  std::optional<NodeId> bad;
  EXPECT_TRUE(rpc.OnResponse(resp, peer, &bad));
  EXPECT_EQ(bad, expected);
}

TEST(Rpc, TokensAreBoundToTheHostAndSurviveOneRotation) {
  runtime::VirtualClock clock;
  Rpc rpc(clock, [](const UdpEndpoint&, ByteView) {});
  const Bytes token = rpc.Token("127.0.0.2");
  EXPECT_EQ(token.size(), 32u);
  EXPECT_TRUE(rpc.CheckToken(token, "127.0.0.2"));
  EXPECT_FALSE(rpc.CheckToken(token, "127.0.0.3"));
  EXPECT_FALSE(rpc.CheckToken(ByteView(token).first(31), "127.0.0.2"));
  clock.Advance(std::chrono::minutes(5));
  EXPECT_TRUE(rpc.CheckToken(token, "127.0.0.2"));  // the previous secret is still accepted
  EXPECT_NE(rpc.Token("127.0.0.2"), token);
  clock.Advance(std::chrono::minutes(5));
  EXPECT_FALSE(rpc.CheckToken(token, "127.0.0.2"));
}

TEST(Rpc, QueuesBeyondTheInflightCapAndRefusesBeyondTheQueueCap) {
  runtime::VirtualClock clock;
  size_t sent = 0;
  RpcTiming timing;
  timing.max_inflight = 2;
  timing.max_queued = 1;
  Rpc rpc(
      clock, [&](const UdpEndpoint&, ByteView) { ++sent; }, timing);
  std::vector<Code> codes;
  for (int i = 0; i < 4; ++i) {
    rpc.Request(Message{}, {{"127.0.0.2", 9}, std::nullopt},
                [&](Result<Message> r, const UdpEndpoint&) { codes.push_back(r.status().code()); });
  }
  EXPECT_EQ(sent, 2u);
  EXPECT_EQ(rpc.queued(), 1u);
  clock.Advance(1ms);
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(codes[0], Code::kBusy);
  clock.Advance(7500ms);  // the first two time out, the queued one starts
  EXPECT_EQ(rpc.inflight(), 1u);
  clock.Advance(7500ms);
  EXPECT_EQ(codes.size(), 4u);
}

}  // namespace
}  // namespace hyper::swarm
