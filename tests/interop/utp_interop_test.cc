// Our uTP against Node's utp-native 2.5.3 (libutp; tests/interop/scripts/utp_peer.js) over real
// UDP on loopback: ours on 127.0.0.1, on the socket it shares with a DHT node (UdpDht with
// UdpDhtOptions::utp), Node on 127.0.0.2. A few MB of a fixed pattern go each way: Node's client
// to our listener, which echoes; our client to Node's server, which echoes. Both sides check
// every byte they receive against the pattern.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hyper/runtime/asio_udp_socket_factory.h"
#include "hyper/runtime/clock.h"
#include "hyper/runtime/event_loop.h"
#include "hyper/swarm/udp_dht.h"
#include "tests/support/node_harness.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr size_t kBytes = 4 * 1024 * 1024;

// Byte i of the pattern (utp_peer.js's patternByte).
uint8_t PatternByte(uint64_t i) {
  uint32_t x = static_cast<uint32_t>(i) * 0x9e3779b1u;
  x ^= x >> 15;
  x *= 0x85ebca77u;
  return static_cast<uint8_t>(x >> 24);
}

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = PatternByte(i);
  return b;
}

// One end of a test connection, on the loop: writes what it is given as the connection takes
// it (then ends, once asked), checks what it receives against the pattern, and echoes it when
// `echo`. `done` is set once the connection closed.
struct Side {
  std::shared_ptr<utp::Connection> connection;
  bool echo = false;
  Bytes out;
  size_t out_offset = 0;
  bool end_when_written = false;
  uint64_t received = 0;
  bool pattern_ok = true;
  bool got_end = false;
  std::promise<Status> done;

  void Send(ByteView data) {
    out.insert(out.end(), data.begin(), data.end());
    Pump();
  }
  void Pump() {
    while (out_offset < out.size()) {
      const size_t n = connection->Write(ByteView(out).subspan(out_offset));
      if (n == 0) break;
      out_offset += n;
    }
    if (out_offset == out.size()) {
      out.clear();
      out_offset = 0;
      if (end_when_written) connection->End();
    }
  }
  utp::ConnectionCallbacks Callbacks() {
    utp::ConnectionCallbacks c;
    c.on_connect = [this] { Pump(); };
    c.on_data = [this](ByteView d) {
      for (size_t i = 0; i < d.size() && pattern_ok; ++i) {
        if (d[i] != PatternByte(received + i)) pattern_ok = false;
      }
      received += d.size();
      if (echo) Send(d);
    };
    c.on_end = [this] {
      got_end = true;
      if (echo) {
        end_when_written = true;
        Pump();
      }
    };
    c.on_writable = [this] { Pump(); };
    c.on_close = [this](const Status& s) { done.set_value(s); };
    return c;
  }
};

class UtpInterop : public ::testing::Test {
 protected:
  void SetUp() override { loop_.Start(); }
  void TearDown() override {
    loop_.Call([&] { dht_.reset(); });
  }

  // Our DHT node with uTP on its socket, on 127.0.0.1.
  void Open(runtime::UdpSocketFactory::Received on_unclaimed = nullptr) {
    UdpDhtOptions o;
    o.host = "127.0.0.1";
    o.utp = true;
    o.on_unclaimed = std::move(on_unclaimed);
    dht_ = loop_.Call([&] { return UdpDht::Open(sockets_, clock_, std::move(o)).value(); });
    local_ = loop_.Call([&] { return dht_->local(); });
  }

  runtime::EventLoop loop_;
  runtime::RealClock clock_{loop_};
  runtime::AsioUdpSocketFactory sockets_{loop_};
  // The sides outlive the DHT node (TearDown), whose Multiplexer calls them until destroyed.
  Side side_;
  std::promise<UdpEndpoint> ready_;
  bool told_ = false;
  std::unique_ptr<UdpDht> dht_;
  UdpEndpoint local_;
};

TEST_F(UtpInterop, NodeClientSendsToOurListenerWhichEchoes) {
  Open();
  Side& server = side_;
  server.echo = true;
  loop_.Call([&] {
    dht_->utp()->set_accept([&](const std::shared_ptr<utp::Connection>& c, const UdpEndpoint&) {
      server.connection = c;
      c->set_callbacks(server.Callbacks());
    });
  });
  auto result = hyper::testing::RunNode(
      "utp_peer",
      {json{{"role", "client"}, {"host", local_.host}, {"port", local_.port}, {"bytes", kBytes}}
           .dump()});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)["received"].get<uint64_t>(), kBytes);
  EXPECT_TRUE((*result)["echoOk"].get<bool>());
  EXPECT_GE((*result)["ms"].get<int64_t>(), 0);  // the echo's end came before the close
  auto done = server.done.get_future();
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(done.get().ok());
  loop_.Call([&] {
    EXPECT_EQ(server.received, kBytes);
    EXPECT_TRUE(server.pattern_ok);
    EXPECT_TRUE(server.got_end);
    std::cout << "Node -> ours -> Node, " << kBytes
              << " bytes each way: " << (*result)["ms"].get<int64_t>() << " ms (closed after "
              << (*result)["closeMs"].get<int64_t>() << " ms); our side resent "
              << server.connection->stats().packets_resent << " of "
              << server.connection->stats().packets_sent << " packets, "
              << server.connection->stats().timeouts << " timeouts\n";
  });
}

TEST_F(UtpInterop, OurClientSendsToNodeServerWhichEchoes) {
  Side& client = side_;
  client.end_when_written = true;
  // The Node server says "ready" with a plain datagram from its uTP socket: uTP does not claim
  // it, so it comes here (and to the DHT node, which drops it).
  Open([&](const UdpEndpoint& from, ByteView d) {
    if (!told_ && std::string(d.begin(), d.end()) == "ready") {
      told_ = true;
      ready_.set_value(from);
    }
  });
  auto node = std::async(std::launch::async, [&] {
    return hyper::testing::RunNode(
        "utp_peer",
        {json{{"role", "server"}, {"host", local_.host}, {"port", local_.port}}.dump()});
  });
  auto server = ready_.get_future();
  ASSERT_EQ(server.wait_for(10s), std::future_status::ready) << "the Node server never said ready";
  const UdpEndpoint to = server.get();
  EXPECT_EQ(to.host, "127.0.0.2");
  const auto start = std::chrono::steady_clock::now();
  loop_.Call([&] {
    auto c = dht_->utp()->Connect(to, client.Callbacks());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client.connection = *c;
    client.Send(Pattern(kBytes));
  });
  auto done = client.done.get_future();
  ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_TRUE(done.get().ok());
  auto result = node.get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ((*result)["received"].get<uint64_t>(), kBytes);
  EXPECT_TRUE((*result)["patternOk"].get<bool>());
  EXPECT_EQ((*result)["port"].get<uint16_t>(), to.port);
  loop_.Call([&] {
    EXPECT_EQ(client.received, kBytes);
    EXPECT_TRUE(client.pattern_ok);
    EXPECT_TRUE(client.got_end);
    std::cout << "ours -> Node -> ours, " << kBytes << " bytes each way: " << ms
              << " ms; we resent " << client.connection->stats().packets_resent << " of "
              << client.connection->stats().packets_sent << " packets, "
              << client.connection->stats().timeouts << " timeouts\n";
  });
}

}  // namespace
}  // namespace hyper::swarm
