#include "hyper/runtime/asio_udp_socket_factory.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/ip/multicast.hpp>
#include <asio/ip/udp.hpp>
#include <cstring>
#include <vector>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {
namespace {

using asio::ip::udp;

// The largest UDP payload over IPv4; a bigger datagram cannot arrive.
constexpr size_t kMaxDatagram = 65507;
// The kernel receive buffer asked for a bound socket (the kernel caps it at net.core.rmem_max).
// uTP shares the DHT's socket: a peer's window of packets (up to a megabyte) can arrive in one
// burst, and the usual 208 KiB default drops part of it on loopback, which costs a
// retransmission timeout of a second or more.
constexpr int kReceiveBuffer = 2 * 1024 * 1024;

class AsioUdpSocket : public UdpSocket {
 public:
  // The asio socket and the receive buffer live in shared state, so that a receive still
  // pending when this object is destroyed completes on valid memory.
  struct State {
    explicit State(asio::io_context& io) : socket(io) {}
    udp::socket socket;
    udp::endpoint from;
    std::array<uint8_t, kMaxDatagram> buffer{};
    UdpSocketFactory::Received received;
    bool closed = false;
  };

  explicit AsioUdpSocket(std::shared_ptr<State> state) : state_(std::move(state)) {
    std::error_code ec;
    auto ep = state_->socket.local_endpoint(ec);
    if (!ec) local_ = {ep.address().to_string(), ep.port()};
    Receive(state_);
  }
  ~AsioUdpSocket() override { Close(); }
  AsioUdpSocket(const AsioUdpSocket&) = delete;
  AsioUdpSocket& operator=(const AsioUdpSocket&) = delete;

  void Send(const UdpEndpoint& to, ByteView datagram) override {
    if (state_->closed) return;
    std::error_code ec;
    auto address = asio::ip::make_address(to.host, ec);
    if (ec) return;
    auto copy = std::make_shared<Bytes>(datagram.begin(), datagram.end());
    state_->socket.async_send_to(asio::buffer(*copy), udp::endpoint(address, to.port),
                                 [copy](std::error_code, size_t) {});
  }
  UdpEndpoint local() const override { return local_; }
  void Close() override {
    if (state_->closed) return;
    state_->closed = true;
    state_->received = nullptr;
    std::error_code ec;
    state_->socket.close(ec);
  }

 private:
  static void Receive(const std::shared_ptr<State>& state) {
    state->socket.async_receive_from(
        asio::buffer(state->buffer), state->from, [state](std::error_code ec, size_t n) {
          if (state->closed || ec == asio::error::operation_aborted) return;
          if (!ec && state->received) {
            UdpEndpoint from{state->from.address().to_string(), state->from.port()};
            state->received(from, ByteView(state->buffer.data(), n));
          }
          // Errors such as ICMP port unreachable (ECONNREFUSED) end one receive, not the socket.
          if (!state->closed) Receive(state);
        });
  }

  std::shared_ptr<State> state_;
  UdpEndpoint local_;
};

// The host's interfaces as multicast-dns sees them: the first IPv4 address of each.
struct Ipv4Interface {
  asio::ip::address_v4 address;
  bool loopback = false;
};
std::vector<Ipv4Interface> Ipv4Interfaces() {
  std::vector<Ipv4Interface> out;
  std::vector<std::string> names;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return out;
  for (const ifaddrs* i = all; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if (std::find(names.begin(), names.end(), i->ifa_name) != names.end()) continue;
    names.emplace_back(i->ifa_name);
    sockaddr_in in{};
    std::memcpy(&in, i->ifa_addr, sizeof in);
    out.push_back(
        {asio::ip::address_v4(ntohl(in.sin_addr.s_addr)), (i->ifa_flags & IFF_LOOPBACK) != 0});
  }
  freeifaddrs(all);
  return out;
}

}  // namespace

Result<std::unique_ptr<UdpSocket>> AsioUdpSocketFactory::Bind(const std::string& host,
                                                              uint16_t port, Received received) {
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("not an IP address: " + host);
  auto state = std::make_shared<AsioUdpSocket::State>(loop_.context());
  udp::endpoint ep(address, port);
  state->socket.open(ep.protocol(), ec);
  if (!ec) state->socket.bind(ep, ec);
  if (ec) {
    return Status::IOError("binding UDP " + host + ":" + std::to_string(port) + ": " +
                           ec.message());
  }
  std::error_code ignored;  // a smaller buffer still works
  state->socket.set_option(asio::socket_base::receive_buffer_size(kReceiveBuffer), ignored);
  state->received = std::move(received);
  return std::unique_ptr<UdpSocket>(std::make_unique<AsioUdpSocket>(std::move(state)));
}

Result<std::unique_ptr<UdpSocket>> AsioUdpSocketFactory::BindMulticast(
    const std::string& host, uint16_t port, const MulticastOptions& multicast, Received received) {
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec || !address.is_v4()) return Status::InvalidArgument("not an IPv4 address: " + host);
  auto group = asio::ip::make_address(multicast.group, ec);
  if (ec || !group.is_v4() || !group.is_multicast()) {
    return Status::InvalidArgument("not an IPv4 multicast group: " + multicast.group);
  }
  const bool every_interface = multicast.interface_address.empty();
  asio::ip::address interface = asio::ip::address_v4::any();
  if (!every_interface) {
    interface = asio::ip::make_address(multicast.interface_address, ec);
    if (ec || !interface.is_v4()) {
      return Status::InvalidArgument("not an IPv4 interface address: " +
                                     multicast.interface_address);
    }
  }
  auto state = std::make_shared<AsioUdpSocket::State>(loop_.context());
  auto& socket = state->socket;
  const std::string where = host + ":" + std::to_string(port);
  // Each step names itself in the error: the system refuses them for different reasons.
  auto failed = [&](const char* step) {
    return Status::IOError(std::string(step) + " (UDP " + where + ", group " + multicast.group +
                           "): " + ec.message());
  };
  using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  socket.open(udp::v4(), ec);
  if (ec) return failed("opening");
  socket.set_option(udp::socket::reuse_address(true), ec);
  if (ec) return failed("SO_REUSEADDR");
  socket.set_option(ReusePort(true), ec);
  if (ec) return failed("SO_REUSEPORT");
  socket.bind(udp::endpoint(address, port), ec);
  if (ec) return failed("binding");
  if (every_interface) {
    // Joins where it can, as multicast-dns does (an interface may refuse: no multicast).
    size_t joined = 0;
    bool only_loopback = true;
    asio::ip::address_v4 loopback = asio::ip::address_v4::loopback();
    for (const Ipv4Interface& i : Ipv4Interfaces()) {
      std::error_code join_ec;
      socket.set_option(asio::ip::multicast::join_group(group.to_v4(), i.address), join_ec);
      if (!join_ec) ++joined;
      if (i.loopback) {
        loopback = i.address;
      } else {
        only_loopback = false;
      }
    }
    if (joined == 0) {
      ec = std::make_error_code(std::errc::no_such_device);
      return failed("joining the group on any interface");
    }
    // Without another interface the system's route would send from 0.0.0.0 (127.0.0.1 has
    // host scope): send from loopback's address, as multicast-dns does.
    if (only_loopback) interface = loopback;
  } else {
    socket.set_option(asio::ip::multicast::join_group(group.to_v4(), interface.to_v4()), ec);
    if (ec) return failed("joining the group");
  }
  if (!interface.is_unspecified()) {
    socket.set_option(asio::ip::multicast::outbound_interface(interface.to_v4()), ec);
    if (ec) return failed("choosing the interface");
  }
  socket.set_option(asio::ip::multicast::hops(multicast.ttl), ec);
  if (ec) return failed("the TTL");
  socket.set_option(asio::ip::multicast::enable_loopback(multicast.loopback), ec);
  if (ec) return failed("the loopback");
  state->received = std::move(received);
  return std::unique_ptr<UdpSocket>(std::make_unique<AsioUdpSocket>(std::move(state)));
}

}  // namespace hyper::runtime
