// Datagram sockets for code that runs on the loop (the DHT), beside the stream sockets of
// socket.h: a bound socket that sends datagrams and hands each one received to a callback,
// and a factory, so that code can be given real UDP (AsioUdpSocketFactory) or a fake.
// Every callback runs on the loop; every method is called there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::runtime {

// An IPv4 (or IPv6) address as text and a port: where a datagram came from or goes to.
struct UdpEndpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const UdpEndpoint&) const = default;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

class UdpSocket {
 public:
  virtual ~UdpSocket() = default;
  // Sends one datagram (copied; fire and forget: a failed send is dropped, as UDP drops).
  virtual void Send(const UdpEndpoint& to, ByteView datagram) = 0;
  // The bound address and port (the port chosen by the system when 0 was asked for).
  virtual UdpEndpoint local() const = 0;
  // Stops receiving; nothing is delivered after Close returns.
  virtual void Close() = 0;
};

// How BindMulticast joins a group and sends to it (IPv4).
struct MulticastOptions {
  std::string group;  // an IPv4 multicast address, e.g. 224.0.0.251 (mDNS)
  // The local IPv4 address of the interface to join on and send from. Empty: as multicast-dns
  // does, join on every interface that has an IPv4 address and send by the system's route for
  // the group, or from loopback when the host has no other interface. 0.0.0.0: join on the
  // interface the system routes the group to.
  std::string interface_address;
  uint8_t ttl = 255;     // RFC 6762 asks for 255, as multicast-dns sends
  bool loopback = true;  // datagrams we send come back to this host's sockets in the group
};

class UdpSocketFactory {
 public:
  // Called with each datagram received and its source; the view is valid during the call.
  using Received = std::function<void(const UdpEndpoint& from, ByteView datagram)>;
  virtual ~UdpSocketFactory() = default;
  // Binds host:port (port 0: any); IOError when the address is taken or not ours.
  virtual Result<std::unique_ptr<UdpSocket>> Bind(const std::string& host, uint16_t port,
                                                  Received received) = 0;
  // Binds host:port shared with the host's other sockets on it (SO_REUSEADDR and SO_REUSEPORT,
  // as mDNS responders do), joins `multicast.group` on its interface and sends to the group
  // with its TTL and loopback. InvalidArgument for an address that is not IPv4 (or a group that
  // is not multicast); IOError when the system refuses. This base says Unsupported (fakes).
  // `received` is taken by value as in Bind: implementations keep it.
  virtual Result<std::unique_ptr<UdpSocket>> BindMulticast(
      const std::string& /*host*/, uint16_t /*port*/, const MulticastOptions& /*multicast*/,
      Received /*received*/) {  // NOLINT(performance-unnecessary-value-param)
    return Status::Unsupported("this socket factory has no multicast");
  }
};

}  // namespace hyper::runtime
