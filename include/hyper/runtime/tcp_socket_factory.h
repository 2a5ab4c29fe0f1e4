// Real TCP sockets (asio) on an EventLoop; Nagle's algorithm is off on every socket (callers
// write whole batches of frames).
#pragma once

#include "hyper/runtime/socket.h"

namespace hyper::runtime {

class EventLoop;

class TcpSocketFactory : public SocketFactory {
 public:
  explicit TcpSocketFactory(EventLoop& loop) : loop_(loop) {}

  std::function<void()> Connect(const std::string& host, uint16_t port, Connected done) override;
  Result<std::unique_ptr<Listener>> Listen(const std::string& host, uint16_t port,
                                           Accepted accepted) override;

 private:
  EventLoop& loop_;
};

}  // namespace hyper::runtime
