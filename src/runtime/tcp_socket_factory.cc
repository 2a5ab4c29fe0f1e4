#include "hyper/runtime/tcp_socket_factory.h"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <vector>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {
namespace {

using asio::ip::tcp;

class TcpSocket : public Socket {
 public:
  explicit TcpSocket(tcp::socket s) : socket_(std::move(s)) {
    std::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) {
      address_ = ep.address().to_string();
      endpoint_ = address_ + ":" + std::to_string(ep.port());
    }
  }
  ~TcpSocket() override { Close(); }

  void ReadSome(MutableByteView buf, Completion done) override {
    socket_.async_read_some(asio::buffer(buf.data(), buf.size()), std::move(done));
  }
  void Write(ByteView data, Completion done) override {
    asio::async_write(socket_, asio::buffer(data.data(), data.size()), std::move(done));
  }
  void Close() override {
    std::error_code ec;
    if (!socket_.is_open()) return;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }
  std::string remote_address() const override { return address_; }
  std::string remote_endpoint() const override { return endpoint_; }
  void LimitSendBuffer(size_t bytes) override {
    std::error_code ec;  // a hint: a socket that refuses it keeps its buffer
    socket_.set_option(asio::socket_base::send_buffer_size(static_cast<int>(bytes)), ec);
  }

 private:
  tcp::socket socket_;
  std::string address_ = "?";
  std::string endpoint_ = "?";
};

// The acceptor lives in shared state so that its pending accept never outlives it.
class TcpListener : public Listener {
 public:
  struct State {
    explicit State(asio::io_context& io) : acceptor(io) {}
    tcp::acceptor acceptor;
    SocketFactory::Accepted accepted;
  };

  explicit TcpListener(std::shared_ptr<State> state) : state_(std::move(state)) {
    port_ = state_->acceptor.local_endpoint().port();
    Accept(state_);
  }
  ~TcpListener() override { Close(); }

  uint16_t port() const override { return port_; }
  void Close() override {
    std::error_code ec;
    state_->acceptor.close(ec);
  }

 private:
  static void Accept(const std::shared_ptr<State>& state) {
    state->acceptor.async_accept([state](std::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) return;
      if (!ec) state->accepted(std::make_unique<TcpSocket>(std::move(socket)));
      Accept(state);
    });
  }

  std::shared_ptr<State> state_;
  uint16_t port_ = 0;
};

// A connection attempt; `done` is called once, whichever of the connect or the cancel is first.
struct Attempt {
  explicit Attempt(asio::io_context& io) : resolver(io), socket(io) {}
  tcp::resolver resolver;
  tcp::socket socket;
  SocketFactory::Connected done;
  bool finished = false;

  void Finish(Result<std::unique_ptr<Socket>> r) {
    if (finished) return;
    finished = true;
    auto fn = std::move(done);
    fn(std::move(r));
  }
};

}  // namespace

std::function<void()> TcpSocketFactory::Connect(const std::string& host, uint16_t port,
                                                Connected done) {
  auto a = std::make_shared<Attempt>(loop_.context());
  a->done = std::move(done);
  const std::string where = host + ":" + std::to_string(port);
  auto connect = [a, where](const auto& endpoints) {
    asio::async_connect(a->socket, endpoints, [a, where](std::error_code e, const tcp::endpoint&) {
      if (a->finished) return;
      if (e) {
        a->Finish(Status::IOError("connecting to " + where + ": " + e.message()));
        return;
      }
      a->Finish(std::unique_ptr<Socket>(std::make_unique<TcpSocket>(std::move(a->socket))));
    });
  };
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    // An IP address: no resolver (asio resolves names on a thread of its own).
    connect(std::vector<tcp::endpoint>{tcp::endpoint(address, port)});
  } else {
    a->resolver.async_resolve(
        host, std::to_string(port),
        [a, where, connect](std::error_code e, const tcp::resolver::results_type& endpoints) {
          if (a->finished) return;
          if (e) {
            a->Finish(Status::IOError("resolving " + where + ": " + e.message()));
            return;
          }
          connect(endpoints);
        });
  }
  return [a, where] {
    if (a->finished) return;
    std::error_code e;
    a->resolver.cancel();
    a->socket.close(e);
    a->Finish(Status::Cancelled("connecting to " + where + " given up"));
  };
}

Result<std::unique_ptr<Listener>> TcpSocketFactory::Listen(const std::string& host, uint16_t port,
                                                           Accepted accepted) {
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("not an IP address: " + host);
  auto state = std::make_shared<TcpListener::State>(loop_.context());
  state->accepted = std::move(accepted);
  tcp::endpoint ep(address, port);
  state->acceptor.open(ep.protocol(), ec);
  if (!ec) state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(ep, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("listening on " + host + ":" + std::to_string(port) + ": " +
                           ec.message());
  }
  return std::unique_ptr<Listener>(std::make_unique<TcpListener>(std::move(state)));
}

}  // namespace hyper::runtime
