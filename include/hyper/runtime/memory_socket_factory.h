// A SocketFactory whose sockets are in-memory pipes inside one process, on one EventLoop: a
// fake network for tests. Listen("name", port) registers a listener (any host string, port 0
// picks a free one); Connect to the same host and port makes a connected pair. Bytes written on
// one end are readable on the other in order; Close on one end gives the other the end of the
// stream (asio::error::eof) once it has read what was written. Completions are posted to the
// loop, never run inline. Everything is called on the loop.
//
//   MemorySocketFactory net(loop);
//   ReplicationOptions o; o.sockets = &net;   // replicators meet without TCP
#pragma once

#include <map>
#include <memory>

#include "hyper/runtime/socket.h"

namespace hyper::runtime {

class EventLoop;

class MemorySocketFactory : public SocketFactory {
 public:
  explicit MemorySocketFactory(EventLoop& loop);
  ~MemorySocketFactory() override;
  MemorySocketFactory(const MemorySocketFactory&) = delete;
  MemorySocketFactory& operator=(const MemorySocketFactory&) = delete;

  std::function<void()> Connect(const std::string& host, uint16_t port, Connected done) override;
  Result<std::unique_ptr<Listener>> Listen(const std::string& host, uint16_t port,
                                           Accepted accepted) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hyper::runtime
