// The connection manager (hyperswarm 2's swarm + @hyperswarm/network, over TCP): a DHT node on a
// UDP socket and, when listening, a TCP listener of the replicator on the same port number (the
// reference's one-port design: announces carry no port, and the DHT nodes record the UDP source
// port, which is therefore the TCP port too). Join(topic) announces us under a topic and/or looks
// it up; the peers found wait in a PeerQueue and are dialled through the Replicator, which then
// replicates over the connection whatever feeds both sides name (so a connection serves every
// topic at once). The Replicator should have ReplicationOptions::deduplicate set: a connection to
// ourselves is then closed, and of two connections with one peer only one is kept, by the
// reference's rule; the swarm bans the addresses that led to them, and those of peers that broke
// the protocol (bad frames, data that does not verify, a wrong capability).
//
// With SwarmOptions::lan, topics are also announced and looked up on the LAN (LanDiscovery); the
// peers found there are dialled first. With SwarmOptions::utp (the default) the UDP socket also
// carries uTP, and a listening swarm accepts uTP connections on it (docs/utp.md).
//
// Lookups are repeated 1, 2, 4 ... s after a join, up to every 5 minutes, and announces every 5
// minutes (records live 8 to 16 minutes on the reference's nodes): two peers that join at the same
// moment meet within seconds, where the reference waits for its 5 to 10 minute refresh.
//
// Everything runs on the runtime's loop; the public methods may be called from any thread but
// the loop. Destroy the Swarm before its Replicator.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hyper/protocol/tcp.h"
#include "hyper/runtime/clock.h"
#include "hyper/runtime/udp_socket.h"
#include "hyper/swarm/compact_address.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

// The reference daemon's preferred port; the next two are tried after it, then any.
inline constexpr uint16_t kPreferredPort = 49737;

struct SwarmOptions {
  std::string host = "0.0.0.0";
  // The port of both sockets; nullopt: kPreferredPort, the next two, then any; 0: any.
  std::optional<uint16_t> port;
  // Accept TCP connections on the port (needed to be dialled by those who find our announces).
  bool listen = true;
  // The UDP socket is shared with uTP as the reference's is: uTP datagrams never reach the DHT,
  // and, when listening, uTP connections to the port are accepted and replicated like TCP ones
  // (the reference dials uTP when TCP fails). We do not dial uTP yet.
  bool utp = true;
  // Where the DHT starts; empty: no DHT.
  std::vector<UdpEndpoint> bootstrap;
  // Also announce and look up on the LAN (multicast DNS, as @hyperswarm/discovery). Opt-in: it
  // multicasts on the machine's interfaces. A LAN that cannot be joined is logged and skipped.
  bool lan = false;
  std::string lan_interface;  // the IPv4 address of the interface to use; empty: every one
  // Most connections we dial at once (the reference's maxPeers).
  size_t max_dialled = 24;
  std::chrono::milliseconds connect_timeout{10000};
  // Told what the swarm does (bootstrap problems, peers banned); on the loop. May be empty.
  std::function<void(const std::string&)> log;
  // runtime::Default()'s when null (tests give virtual ones).
  runtime::Clock* clock = nullptr;
  runtime::UdpSocketFactory* udp = nullptr;
};

struct JoinOptions {
  bool announce = false;  // tell the DHT we serve the topic
  bool lookup = true;     // find and dial those who do
};

struct SwarmStats {
  size_t topics = 0;
  size_t peers_found = 0;  // distinct addresses found by lookups, ourselves excepted (to 65,536)
  size_t dialling = 0;
  size_t dialled_connected = 0;  // connections we dialled that are open now
  size_t dials_failed = 0;
  size_t peers_banned = 0;  // broke the protocol: never dialled again
  size_t lookups_done = 0;  // lookup or announce queries finished (any topic)
  size_t announces_done = 0;
  size_t dht_nodes = 0;  // nodes in the routing table
  bool lan = false;      // LAN discovery is running
  size_t lan_peers_found = 0;
};

class Swarm {
 public:
  // Binds the UDP socket (and the TCP listener on the same port number: both must be free) and
  // starts bootstrapping the DHT. Not on the loop.
  static Result<std::unique_ptr<Swarm>> Open(protocol::Replicator& replicator,
                                             SwarmOptions options);
  // Unannounces what was announced (waiting at most a second for the DHT), and stops.
  ~Swarm();
  Swarm(const Swarm&) = delete;
  Swarm& operator=(const Swarm&) = delete;

  void Join(const NodeId& topic, JoinOptions options = {});
  void Leave(const NodeId& topic);

  // The port of the UDP and the TCP socket.
  uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }
  SwarmStats stats() const;

  struct Impl;

 private:
  Swarm(std::shared_ptr<Impl> impl, std::string host, uint16_t port);
  std::shared_ptr<Impl> impl_;
  std::string host_;
  uint16_t port_;
};

}  // namespace hyper::swarm
