// Real UDP sockets (asio) on an EventLoop.
#pragma once

#include "hyper/runtime/udp_socket.h"

namespace hyper::runtime {

class EventLoop;

class AsioUdpSocketFactory : public UdpSocketFactory {
 public:
  explicit AsioUdpSocketFactory(EventLoop& loop) : loop_(loop) {}

  // Runs on the loop.
  Result<std::unique_ptr<UdpSocket>> Bind(const std::string& host, uint16_t port,
                                          Received received) override;
  Result<std::unique_ptr<UdpSocket>> BindMulticast(const std::string& host, uint16_t port,
                                                   const MulticastOptions& multicast,
                                                   Received received) override;

 private:
  EventLoop& loop_;
};

}  // namespace hyper::runtime
