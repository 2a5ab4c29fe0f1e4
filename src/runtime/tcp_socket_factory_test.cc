#include "hyper/runtime/tcp_socket_factory.h"

#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <future>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {
namespace {

TEST(TcpSocketFactory, ConnectsListensAndCarriesBytesBothWays) {
  EventLoop loop;
  loop.Start();
  TcpSocketFactory factory(loop);
  std::unique_ptr<Socket> server_side;
  std::unique_ptr<Socket> client_side;
  Bytes server_buf(64);
  std::promise<std::string> server_got;
  std::promise<std::string> client_got;
  Bytes client_buf(64);
  const std::string hello = "hello";
  const std::string world = "world";

  auto listener = loop.Call([&] {
    return factory.Listen("127.0.0.1", 0, [&](std::unique_ptr<Socket> s) {
      server_side = std::move(s);
      server_side->ReadSome(server_buf, [&](std::error_code ec, size_t n) {
        server_got.set_value(ec ? ec.message()
                                : std::string(server_buf.begin(), server_buf.begin() + n));
        server_side->Write(ByteView(reinterpret_cast<const uint8_t*>(world.data()), world.size()),
                           [](std::error_code, size_t) {});
      });
    });
  });
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  const uint16_t port = loop.Call([&] { return (*listener)->port(); });
  ASSERT_NE(port, 0);

  loop.Call([&] {
    factory.Connect("127.0.0.1", port, [&](Result<std::unique_ptr<Socket>> r) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      client_side = std::move(*r);
      EXPECT_EQ(client_side->remote_address(), "127.0.0.1");
      EXPECT_EQ(client_side->remote_endpoint(), "127.0.0.1:" + std::to_string(port));
      client_side->Write(ByteView(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()),
                         [](std::error_code, size_t) {});
      client_side->ReadSome(client_buf, [&](std::error_code ec, size_t n) {
        client_got.set_value(ec ? ec.message()
                                : std::string(client_buf.begin(), client_buf.begin() + n));
      });
    });
  });
  EXPECT_EQ(server_got.get_future().get(), "hello");
  EXPECT_EQ(client_got.get_future().get(), "world");

  // Closing one end ends the other's stream.
  std::promise<std::error_code> eof;
  loop.Call([&] {
    client_side->ReadSome(client_buf, [&](std::error_code ec, size_t) { eof.set_value(ec); });
    server_side->Close();
  });
  EXPECT_EQ(eof.get_future().get(), asio::error::eof);
  loop.Call([&] {
    client_side.reset();
    server_side.reset();
    (*listener)->Close();
  });
}

TEST(TcpSocketFactory, ReportsRefusedConnectionsAndBadAddresses) {
  EventLoop loop;
  loop.Start();
  TcpSocketFactory factory(loop);
  // A port that nothing listens on: bind one, note it, close it.
  uint16_t port = loop.Call([&] {
    auto l = factory.Listen("127.0.0.1", 0, [](std::unique_ptr<Socket>) {});
    return (*l)->port();
  });
  std::promise<Status> result;
  loop.Call([&] {
    factory.Connect("127.0.0.1", port,
                    [&](Result<std::unique_ptr<Socket>> r) { result.set_value(r.status()); });
  });
  Status s = result.get_future().get();
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  auto bad = loop.Call([&] { return factory.Listen("not an address", 0, nullptr); });
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(TcpSocketFactory, CancelledConnectReportsCancelledOnce) {
  EventLoop loop;
  loop.Start();
  TcpSocketFactory factory(loop);
  int calls = 0;
  Status seen;
  loop.Call([&] {
    // 192.0.2.1 (TEST-NET-1) is not routed: the connect stays pending until cancelled.
    auto cancel = factory.Connect("192.0.2.1", 9, [&](Result<std::unique_ptr<Socket>> r) {
      calls++;
      seen = r.status();
    });
    cancel();
    cancel();
  });
  loop.Stop();  // runs what the cancel queued
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.code(), Code::kCancelled);
}

}  // namespace
}  // namespace hyper::runtime
