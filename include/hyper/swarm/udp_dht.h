// A DhtNode on a UDP socket of the runtime: datagrams received on the loop go to the node, the
// node's datagrams go out of the socket. A persistent node also serves the `peers` command
// (it stores announces); an ephemeral one answers lookups from an empty store as the
// reference does. Made, used and destroyed on the loop; no thread of its own.
//
// With UdpDhtOptions::utp, the socket is shared with uTP as @hyperswarm/network shares its
// utp-native socket with dht-rpc: every datagram goes to the uTP Multiplexer first, and only
// those it does not claim reach the DHT node. uTP's packets go
// out of the same socket and its timers run on the same clock. See docs/utp.md.
#pragma once

#include <memory>
#include <string>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/udp_socket.h"
#include "hyper/swarm/dht_node.h"
#include "hyper/swarm/peer_store.h"
#include "hyper/utp/multiplexer.h"

namespace hyper::swarm {

struct UdpDhtOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port
  DhtNodeOptions node;
  // uTP on the same socket (the reference's one socket for the DHT and uTP).
  bool utp = false;
  utp::MultiplexerOptions utp_options;
  // When set, also told of every datagram uTP did not claim, before the DHT node gets it (the
  // interop test waits for the Node peer's "ready" this way).
  runtime::UdpSocketFactory::Received on_unclaimed;
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
  // The uTP side of the socket; null without UdpDhtOptions::utp.
  utp::Multiplexer* utp() { return utp_.get(); }

 private:
  explicit UdpDht(runtime::Clock& clock) : store_(clock) {}

  PeerStore store_;
  std::unique_ptr<runtime::UdpSocket> socket_;
  std::unique_ptr<DhtNode> node_;
  std::unique_ptr<utp::Multiplexer> utp_;
  runtime::UdpSocketFactory::Received on_unclaimed_;
};

}  // namespace hyper::swarm
