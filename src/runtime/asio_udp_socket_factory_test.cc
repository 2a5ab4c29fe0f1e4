#include "hyper/runtime/asio_udp_socket_factory.h"

#include <gtest/gtest.h>

#include <future>

#include "hyper/runtime/event_loop.h"
#include "tests/support/event_counter.h"
#include "tests/support/net_namespace.h"

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

// Multicast only inside a network namespace of the test's own (nothing reaches the machine's
// interfaces): two sockets share the group's port and both get what is sent to the group,
// their own datagrams included (loopback). Joined on every interface (here lo alone) or on
// 127.0.0.1, a socket sends from 127.0.0.1 (the system's route on lo would say 0.0.0.0).
TEST(AsioUdpSocketFactory, MulticastSocketsShareThePortAndHearTheGroup) {
  const Status ns = hyper::testing::EnterPrivateNetworkNamespace();
  ASSERT_TRUE(ns.ok()) << ns.ToString();
  EventLoop loop;
  loop.Start();
  AsioUdpSocketFactory factory(loop);
  uint16_t port = 5399;
  for (const std::string interface : {"", "127.0.0.1"}) {
    SCOPED_TRACE("interface '" + interface + "'");
    MulticastOptions group;
    group.group = "239.255.42.1";
    group.interface_address = interface;
    ++port;
    hyper::testing::EventCounter a_got;
    hyper::testing::EventCounter b_got;
    std::vector<std::string> a_heard;                 // on the loop, read once it is idle
    std::map<std::string, UdpEndpoint> b_heard_from;  // the same
    std::unique_ptr<UdpSocket> a;
    std::unique_ptr<UdpSocket> b;
    std::unique_ptr<UdpSocket> plain;
    loop.Call([&] {
      auto ra = factory.BindMulticast("0.0.0.0", port, group, [&](const UdpEndpoint&, ByteView d) {
        a_heard.emplace_back(AsString(d));
        a_got.Add();
      });
      auto rb =
          factory.BindMulticast("0.0.0.0", port, group, [&](const UdpEndpoint& from, ByteView d) {
            b_heard_from[std::string(AsString(d))] = from;
            b_got.Add();
          });
      ASSERT_TRUE(ra.ok()) << ra.status().ToString();
      ASSERT_TRUE(rb.ok()) << rb.status().ToString();
      a = std::move(*ra);
      b = std::move(*rb);
      EXPECT_EQ(a->local().port, port);
      plain = factory.Bind("127.0.0.1", 0, [](const UdpEndpoint&, ByteView) {}).value();
      plain->Send({group.group, port}, AsBytes("from outside"));
      a->Send({group.group, port}, AsBytes("from a"));
    });
    EXPECT_TRUE(a_got.WaitAtLeast(2));
    EXPECT_TRUE(b_got.WaitAtLeast(2));
    loop.Call([&] {
      std::sort(a_heard.begin(), a_heard.end());
      EXPECT_EQ(a_heard, (std::vector<std::string>{"from a", "from outside"}));
      EXPECT_EQ(b_heard_from["from a"], (UdpEndpoint{"127.0.0.1", port}));
      a.reset();
      b.reset();
      plain.reset();
    });
  }
}

TEST(AsioUdpSocketFactory, MulticastBadAddressesAreClearErrors) {
  EventLoop loop;
  loop.Start();
  AsioUdpSocketFactory factory(loop);
  loop.Call([&] {
    auto none = [](const UdpEndpoint&, ByteView) {};
    MulticastOptions unicast;
    unicast.group = "10.0.0.1";
    EXPECT_EQ(factory.BindMulticast("0.0.0.0", 0, unicast, none).status().code(),
              Code::kInvalidArgument);
    MulticastOptions good;
    good.group = "224.0.0.251";
    EXPECT_EQ(factory.BindMulticast("::1", 0, good, none).status().code(), Code::kInvalidArgument);
    MulticastOptions bad_interface = good;
    bad_interface.interface_address = "lo";
    EXPECT_EQ(factory.BindMulticast("0.0.0.0", 0, bad_interface, none).status().code(),
              Code::kInvalidArgument);
  });
}

}  // namespace
}  // namespace hyper::runtime
