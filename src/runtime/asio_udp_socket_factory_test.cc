#include "hyper/runtime/asio_udp_socket_factory.h"

#include <gtest/gtest.h>

#include <future>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {
namespace {

TEST(AsioUdpSocketFactory, SendsAndReceivesDatagramsWithTheirSource) {
  EventLoop loop;
  loop.Start();
  AsioUdpSocketFactory factory(loop);
  std::promise<std::pair<UdpEndpoint, std::string>> a_got;
  std::promise<std::pair<UdpEndpoint, std::string>> b_got;
  std::unique_ptr<UdpSocket> a;
  std::unique_ptr<UdpSocket> b;
  loop.Call([&] {
    auto ra = factory.Bind("127.0.0.1", 0, [&](const UdpEndpoint& from, ByteView d) {
      a_got.set_value({from, std::string(AsString(d))});
    });
    auto rb = factory.Bind("127.0.0.1", 0, [&](const UdpEndpoint& from, ByteView d) {
      b_got.set_value({from, std::string(AsString(d))});
      b->Send(from, AsBytes("pong"));  // answer the source
    });
    ASSERT_TRUE(ra.ok() && rb.ok());
    a = std::move(*ra);
    b = std::move(*rb);
    a->Send(b->local(), AsBytes("ping"));
  });
  auto at_b = b_got.get_future().get();
  auto at_a = a_got.get_future().get();
  const UdpEndpoint a_local = loop.Call([&] { return a->local(); });
  const UdpEndpoint b_local = loop.Call([&] { return b->local(); });
  EXPECT_EQ(at_b.second, "ping");
  EXPECT_EQ(at_b.first, a_local);
  EXPECT_EQ(at_a.second, "pong");
  EXPECT_EQ(at_a.first, b_local);
  EXPECT_NE(a_local.port, 0);
  loop.Call([&] {
    a.reset();
    b.reset();
  });
}

TEST(AsioUdpSocketFactory, ATakenPortOrABadAddressIsAClearError) {
  EventLoop loop;
  loop.Start();
  AsioUdpSocketFactory factory(loop);
  loop.Call([&] {
    auto first = factory.Bind("127.0.0.1", 0, [](const UdpEndpoint&, ByteView) {});
    ASSERT_TRUE(first.ok());
    auto second =
        factory.Bind("127.0.0.1", (*first)->local().port, [](const UdpEndpoint&, ByteView) {});
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), Code::kIOError);
    auto bad = factory.Bind("not-an-ip", 0, [](const UdpEndpoint&, ByteView) {});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  });
}

}  // namespace
}  // namespace hyper::runtime
