#include "hyper/gateway/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "hyper/runtime/runtime.h"

namespace hyper::gateway {
namespace {

using namespace std::chrono_literals;

// A blocking TCP client of the server under test.
class Client {
 public:
  explicit Client(uint16_t port, int rcvbuf = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void Send(const std::string& s) { ASSERT_EQ(write(fd_, s.data(), s.size()), ssize_t(s.size())); }
  // Reads until `n` bytes arrived in all (or the end, or 10 s of silence).
  std::string ReadUntilSize(size_t n) {
    while (got_.size() < n) {
      char buf[65536];
      ssize_t r = read(fd_, buf, sizeof(buf));
      if (r <= 0) break;
      got_.append(buf, size_t(r));
    }
    std::string out = got_.substr(0, n);
    got_.erase(0, std::min(n, got_.size()));
    return out;
  }
  // Reads one answer whose head holds Content-Length; returns head and body.
  std::string ReadResponse() {
    while (got_.find("\r\n\r\n") == std::string::npos) {
      char buf[65536];
      ssize_t r = read(fd_, buf, sizeof(buf));
      if (r <= 0) return got_;
      got_.append(buf, size_t(r));
    }
    size_t end = got_.find("\r\n\r\n") + 4;
    size_t at = got_.find("Content-Length: ");
    size_t length = at < end ? std::stoul(got_.substr(at + 16)) : 0;
    if (got_.find("HEAD-ANSWER") != std::string::npos) length = 0;
    return ReadUntilSize(end + length);
  }
  bool ClosedByPeer() {
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  int fd_ = -1;
  std::string got_;
};

// A body of `size` bytes of 'x' in chunks of 64 KiB, counting what it made.
class CountingBody : public BodySource {
 public:
  CountingBody(uint64_t size, std::atomic<uint64_t>* made, std::atomic<int>* alive)
      : left_(size), made_(made), alive_(alive) {
    alive_->fetch_add(1);
  }
  ~CountingBody() override { alive_->fetch_sub(1); }
  Result<ByteView> Next() override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, chunk_.size()));
    left_ -= n;
    made_->fetch_add(n);
    return ByteView(chunk_.data(), n);
  }

 private:
  uint64_t left_;
  std::atomic<uint64_t>* made_;
  std::atomic<int>* alive_;
  Bytes chunk_ = Bytes(65536, 'x');
};

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    options.port = 0;
    auto& rt = runtime::Default();
    auto s = Server::Start(
        rt.loop(), rt.sockets(),
        [this](const HttpRequest& req) -> HttpResponse {
          HttpResponse r;
          if (req.target == "/unsized") {
            // 300 KiB of 'x' whose length is not told in advance.
            r.stream = std::make_unique<CountingBody>(kUnsized, &made_, &alive_);
            r.unknown_length = true;
            return r;
          }
          if (req.target == "/big") {
            r.content_length = kBig;
            r.stream = std::make_unique<CountingBody>(kBig, &made_, &alive_);
            return r;
          }
          r.body = "you asked " + req.target;
          return r;
        },
        options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  // Waits (up to 10 s) until `pred` holds.
  template <typename P>
  bool Eventually(P pred) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  static constexpr uint64_t kBig = 64ull << 20;
  static constexpr uint64_t kUnsized = 300 << 10;
  std::atomic<uint64_t> made_{0};
  std::atomic<int> alive_{0};
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  Client c(server_->port());
  c.Send("GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n");
  std::string a = c.ReadResponse();
  std::string b = c.ReadResponse();
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << a;
  EXPECT_NE(a.find("Connection: keep-alive"), std::string::npos) << a;
  EXPECT_NE(a.find("you asked /one"), std::string::npos) << a;
  EXPECT_NE(b.find("you asked /two"), std::string::npos) << b;
  c.Send("GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  std::string d = c.ReadResponse();
  EXPECT_NE(d.find("Connection: close"), std::string::npos) << d;
  EXPECT_TRUE(c.ClosedByPeer());
}

// Reads what is left of a connection until the server closes it.
std::string ReadToEnd(Client& c) {
  std::string out;
  while (true) {
    std::string got = c.ReadUntilSize(1 << 20);
    if (got.empty()) return out;
    out += got;
  }
}

// The chunks of a chunked body, joined; "bad" when the framing is wrong.
std::string Dechunk(std::string body) {
  std::string out;
  while (true) {
    const size_t eol = body.find("\r\n");
    if (eol == std::string::npos) return "bad";
    const size_t n = std::stoul(body.substr(0, eol), nullptr, 16);
    if (n == 0) return body.substr(eol) == "\r\n\r\n" ? out : "bad";
    if (body.size() < eol + 2 + n + 2 || body.substr(eol + 2 + n, 2) != "\r\n") return "bad";
    out += body.substr(eol + 2, n);
    body.erase(0, eol + 2 + n + 2);
  }
}

// A body whose length is not known in advance goes out in chunks to an HTTP/1.1 client (the
// connection stays open for the next request) and until the connection closes to HTTP/1.0.
TEST_F(ServerTest, ABodyOfUnknownLengthIsChunkedOrEndsTheConnection) {
  StartServer();
  {
    Client c(server_->port());
    c.Send("GET /unsized HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    std::string head = c.ReadUntilSize(1);
    while (head.find("\r\n\r\n") == std::string::npos) head += c.ReadUntilSize(1);
    EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    // The chunked body ends with the zero chunk; the next answer follows on the same connection.
    std::string rest;
    while (rest.find("\r\n0\r\n\r\n") == std::string::npos) {
      std::string got = c.ReadUntilSize(1);
      ASSERT_FALSE(got.empty()) << "the body never ended";
      rest += got;
    }
    EXPECT_EQ(Dechunk(rest), std::string(kUnsized, 'x'));
    std::string next = c.ReadResponse();
    EXPECT_NE(next.find("you asked /after"), std::string::npos) << next;
  }
  {
    Client c(server_->port());
    c.Send("GET /unsized HTTP/1.0\r\n\r\n");
    std::string all = ReadToEnd(c);
    const size_t end = all.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos) << all;
    const std::string head = all.substr(0, end + 4);
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
    EXPECT_EQ(all.substr(end + 4), std::string(kUnsized, 'x'));
  }
}

TEST_F(ServerTest, BadRequestsAndOtherMethods) {
  StartServer();
  {
    Client c(server_->port());
    c.Send("GET / HTTP/1.1\r\n\r\n");
    std::string r = c.ReadResponse();
    EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Client c(server_->port());
    c.Send("DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n");
    std::string r = c.ReadResponse();
    EXPECT_EQ(r.rfind("HTTP/1.1 405 ", 0), 0u) << r;
    EXPECT_NE(r.find("Allow: GET, HEAD"), std::string::npos) << r;
  }
  {
    ServerOptions o;
    Client c(server_->port());
    c.Send("GET /" + std::string(o.limits.max_request_line + 10, 'a'));
    std::string r = c.ReadResponse();
    EXPECT_EQ(r.rfind("HTTP/1.1 414 ", 0), 0u) << r;
  }
}

// A client that reads nothing holds at most a chunk or so beyond what the socket buffers take:
// the body is made as the client takes it.
TEST_F(ServerTest, ASlowClientGetsTheBodyOnlyAsFastAsItReads) {
  StartServer();
  Client c(server_->port(), /*rcvbuf=*/65536);
  c.Send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(Eventually([&] { return made_.load() > 0; }));
  // Let the kernel buffers fill; then the production must stop far short of the body.
  uint64_t before = 0;
  for (int i = 0; i < 50; ++i) {
    before = made_.load();
    std::this_thread::sleep_for(20ms);
    if (made_.load() == before && i > 5) break;
  }
  EXPECT_LT(made_.load(), 16u << 20) << "the server made the body faster than the client read it";
  // Reading it all gets all of it.
  std::string head = c.ReadUntilSize(1);
  size_t total = 1;
  while (total < kBig) {
    std::string got = c.ReadUntilSize(1 << 20);
    if (got.empty()) break;
    total += got.size();
  }
  EXPECT_GE(total, kBig);
}

// A client that goes away mid-body: its connection and its body are freed.
TEST_F(ServerTest, ADisconnectedClientIsDropped) {
  StartServer();
  {
    Client c(server_->port());
    c.Send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    c.ReadUntilSize(100000);
    ASSERT_EQ(alive_.load(), 1);
  }
  EXPECT_TRUE(Eventually([&] { return alive_.load() == 0 && server_->stats().connections == 0; }))
      << "bodies alive " << alive_.load() << ", connections " << server_->stats().connections;
  EXPECT_LT(made_.load(), kBig);
}

TEST_F(ServerTest, ManyConcurrentConnections) {
  StartServer();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<Client>(server_->port()));
    clients.back()->Send("GET /c" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n");
  }
  for (int i = 0; i < 200; ++i) {
    std::string r = clients[i]->ReadResponse();
    EXPECT_NE(r.find("you asked /c" + std::to_string(i) + "\0"), std::string::npos) << r;
  }
  EXPECT_EQ(server_->stats().connections, 200u);
  clients.clear();
  EXPECT_TRUE(Eventually([&] { return server_->stats().connections == 0; }));
}

TEST_F(ServerTest, IdleConnectionsAreClosed) {
  ServerOptions o;
  o.idle_timeout = 200ms;
  StartServer(o);
  Client c(server_->port());
  c.Send("GET /x HTTP/1.1\r\n");  // a head that never ends
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_TRUE(Eventually([&] { return server_->stats().connections == 0; }));
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitAreClosed) {
  ServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  Client a(server_->port()), b(server_->port());
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections == 2; }));
  Client c(server_->port());
  EXPECT_TRUE(c.ClosedByPeer());
  a.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(a.ReadResponse().find("you asked /a"), std::string::npos);
}

}  // namespace
}  // namespace hyper::gateway
