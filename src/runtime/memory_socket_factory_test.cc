#include "hyper/runtime/memory_socket_factory.h"

#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <future>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {
namespace {

ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(MemorySocketFactory, PairsCarryBytesInOrderAndEndWithEof) {
  EventLoop loop;
  loop.Start();
  MemorySocketFactory net(loop);
  std::unique_ptr<Socket> server;
  std::unique_ptr<Socket> client;
  std::promise<void> both;
  int connected = 0;
  auto listener = loop.Call([&] {
    return net.Listen("a", 0, [&](std::unique_ptr<Socket> s) {
      server = std::move(s);
      if (++connected == 2) both.set_value();
    });
  });
  ASSERT_TRUE(listener.ok());
  const uint16_t port = loop.Call([&] { return (*listener)->port(); });
  loop.Call([&] {
    net.Connect("a", port, [&](Result<std::unique_ptr<Socket>> r) {
      ASSERT_TRUE(r.ok());
      client = std::move(*r);
      if (++connected == 2) both.set_value();
    });
  });
  both.get_future().wait();
  EXPECT_EQ(loop.Call([&] { return client->remote_endpoint(); }), "a:" + std::to_string(port));

  const std::string one = "hello ";
  const std::string two = "world";
  Bytes buf(8);
  std::string got;
  std::promise<std::error_code> ended;
  std::function<void()> read = [&] {
    server->ReadSome(buf, [&](std::error_code ec, size_t n) {
      if (ec) {
        ended.set_value(ec);
        return;
      }
      got.append(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
      read();
    });
  };
  loop.Call([&] {
    read();
    client->Write(View(one), [](std::error_code, size_t) {});
    client->Write(View(two), [](std::error_code, size_t) {});
    client->Close();
  });
  EXPECT_EQ(ended.get_future().get(), asio::error::eof);
  EXPECT_EQ(got, "hello world");  // in order, through a buffer smaller than what was sent
  loop.Call([&] {
    server.reset();
    client.reset();
    listener->reset();
  });
}

TEST(MemorySocketFactory, NobodyListeningIsRefused) {
  EventLoop loop;
  loop.Start();
  MemorySocketFactory net(loop);
  std::promise<Status> result;
  loop.Call([&] {
    net.Connect("nobody", 1,
                [&](Result<std::unique_ptr<Socket>> r) { result.set_value(r.status()); });
  });
  Status s = result.get_future().get();
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find("refused"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace hyper::runtime
