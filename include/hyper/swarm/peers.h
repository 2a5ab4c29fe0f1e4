// @hyperswarm/dht's `peers` command on a DhtNode: serving it (a node stores the announces it
// receives in a PeerStore and answers lookups with them), and using it: Lookup (a query),
// Announce (a query, then an update of the closest nodes) and Unannounce (an update).
// Announces carry no port unless one is given: the storing node records the UDP source port
// (the reference's one-port design). Optional local addresses (LAN) travel beside them.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "hyper/swarm/dht_node.h"
#include "hyper/swarm/peer_store.h"

namespace hyper::swarm {

inline constexpr const char* kPeersCommand = "peers";

// Answers `peers` on `node` from `store` (both must outlive the node's use of the command).
void ServePeers(DhtNode& node, PeerStore& store);

struct PeersOptions {
  std::optional<uint16_t> port;              // announce this port instead of the source port
  std::optional<UdpEndpoint> local_address;  // our LAN address: finds peers on the same /16
};

// One node's answer to a lookup or announce.
struct PeersFound {
  UdpEndpoint node;
  std::vector<UdpEndpoint> peers;
  std::vector<UdpEndpoint> local_peers;
};

using OnPeers = std::function<void(const PeersFound&)>;

std::shared_ptr<Query> Lookup(DhtNode& node, const NodeId& topic, const PeersOptions& options,
                              OnPeers on_peers, Query::OnDone on_done);
std::shared_ptr<Query> Announce(DhtNode& node, const NodeId& topic, const PeersOptions& options,
                                OnPeers on_peers, Query::OnDone on_done);
std::shared_ptr<Query> Unannounce(DhtNode& node, const NodeId& topic, const PeersOptions& options,
                                  Query::OnDone on_done);

}  // namespace hyper::swarm
