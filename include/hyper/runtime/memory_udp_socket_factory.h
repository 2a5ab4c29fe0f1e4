// A UdpSocketFactory whose sockets live in one process, on one EventLoop: a fake network for
// tests (a swarm on virtual time). Bind("10.0.0.2", port) takes that address (port 0 picks a free
// one; binding 0.0.0.0 receives what is sent to any host on that port); Send delivers the datagram
// to the socket bound at the destination, posted to the loop (never inline), and drops it when
// nobody is bound there, as UDP does. Everything is called on the loop.
#pragma once

#include <cstddef>
#include <memory>

#include "hyper/runtime/udp_socket.h"

namespace hyper::runtime {

class EventLoop;

class MemoryUdpSocketFactory : public UdpSocketFactory {
 public:
  explicit MemoryUdpSocketFactory(EventLoop& loop);
  ~MemoryUdpSocketFactory() override;
  MemoryUdpSocketFactory(const MemoryUdpSocketFactory&) = delete;
  MemoryUdpSocketFactory& operator=(const MemoryUdpSocketFactory&) = delete;

  Result<std::unique_ptr<UdpSocket>> Bind(const std::string& host, uint16_t port,
                                          Received received) override;

  // Datagrams sent and not yet delivered (or dropped): zero once the network is quiet.
  size_t in_flight() const;
  uint64_t delivered() const;

  struct State;

 private:
  EventLoop& loop_;
  std::shared_ptr<State> state_;
};

}  // namespace hyper::runtime
