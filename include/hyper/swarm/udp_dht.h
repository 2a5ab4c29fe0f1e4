// A DhtNode on a UDP socket of the runtime: datagrams received on the loop go to the node, the
// node's datagrams go out of the socket. A persistent node also serves the `peers` command
// (it stores announces); an ephemeral one answers lookups from an empty store as the
// reference does. Made, used and destroyed on the loop; no thread of its own.
#pragma once

#include <memory>
#include <string>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/udp_socket.h"
#include "hyper/swarm/dht_node.h"
#include "hyper/swarm/peer_store.h"

namespace hyper::swarm {

struct UdpDhtOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port
  DhtNodeOptions node;
};

class UdpDht {
 public:
  // Binds the socket (IOError when taken) and makes the node; does not bootstrap.
  static Result<std::unique_ptr<UdpDht>> Open(runtime::UdpSocketFactory& sockets,
                                              runtime::Clock& clock, UdpDhtOptions options);
  ~UdpDht();
  UdpDht(const UdpDht&) = delete;
  UdpDht& operator=(const UdpDht&) = delete;

  DhtNode& node() { return *node_; }
  PeerStore& store() { return store_; }
  UdpEndpoint local() const { return socket_->local(); }

 private:
  explicit UdpDht(runtime::Clock& clock) : store_(clock) {}

  PeerStore store_;
  std::unique_ptr<runtime::UdpSocket> socket_;
  std::unique_ptr<DhtNode> node_;
};

}  // namespace hyper::swarm
