// A SocketFactory that connects through two others at once and keeps the first connection to
// open (the other attempt is given up, or its socket closed if it opened too). The swarm dials
// a peer found through the DHT this way with TCP and uTP on the DHT's socket, as the
// reference's @hyperswarm/network races its TCP connect against a uTP one. Listen is not
// offered (listen on each factory). Runs on the loop, as the factories it joins.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "hyper/runtime/socket.h"

namespace hyper::swarm {

class RaceSocketFactory : public runtime::SocketFactory {
 public:
  // REQUIRES: both outlive this object and every attempt it started. `first` is named first
  // in a failure's message (both failed: IOError with both reasons).
  RaceSocketFactory(runtime::SocketFactory& first, std::string first_name,
                    runtime::SocketFactory& second, std::string second_name);

  std::function<void()> Connect(const std::string& host, uint16_t port, Connected done) override;
  Result<std::unique_ptr<runtime::Listener>> Listen(const std::string& host, uint16_t port,
                                                    Accepted accepted) override;

 private:
  runtime::SocketFactory* factories_[2];
  std::string names_[2];
};

}  // namespace hyper::swarm
