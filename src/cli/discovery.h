// How commands find peers by a drive's key alone: the swarm (hyperswarm's DHT, its bootstrap list
// from --bootstrap, HYPERDRIVE_BOOTSTRAP or the reference's default), unless --offline.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "hyper/crypto/crypto.h"
#include "hyper/replication/peer_reader.h"
#include "hyper/swarm/bootstrap.h"
#include "hyper/swarm/swarm.h"
#include "hyper/util/status.h"

namespace hyper::cli {

struct DiscoveryArgs {
  std::optional<std::string> bootstrap;  // --bootstrap HOST:PORT[,HOST:PORT...]
  bool offline = false;                  // --offline: never touch the network
  bool no_lan = false;                   // --no-lan: no multicast DNS on the LAN
};

// Whether LAN discovery (multicast DNS) runs: not with --offline or --no-lan; else as
// HYPERDRIVE_LAN says (0/off or 1/on); else unless every bootstrap node is on this machine (a
// DHT of one's own on loopback is a test network: announcing it on the LAN would reach beyond).
bool LanWanted(const DiscoveryArgs& d, const swarm::BootstrapList& list);

// Adds --bootstrap, --offline and --no-lan to `cmd`.
void AddDiscoveryOptions(CLI::App* cmd, DiscoveryArgs& d);

// The swarm options of a command that listens (a seed) or only dials (a reader). Says on stderr
// which entries of the default bootstrap list did not resolve.
Result<swarm::SwarmOptions> SwarmOptionsFor(const DiscoveryArgs& d, bool listen);

// The topic of a drive: its metadata core's discovery key.
swarm::NodeId DriveTopic(const crypto::PublicKey& key);

// A PeerReader connector that looks the drive up and returns once a first peer is connected;
// "no peers found for <key> within N s" (NotFound) otherwise.
replication::PeerReader::Connector SwarmConnector(const crypto::PublicKey& key,
                                                  const DiscoveryArgs& d,
                                                  std::chrono::milliseconds timeout);

// Whether peers can be found at all: a DHT to ask or the LAN (not --offline). A list that
// does not parse counts as configured (the command then says what is wrong with it).
bool DiscoveryConfigured(const DiscoveryArgs& d);

// Whether a read of `url` must find peers first: the store does not hold the drive, or holds a
// replica of which some block (metadata, content, or a mounted drive's) is missing. A drive
// written here, or a replica held whole, is read locally.
bool NeedsPeers(const std::string& storage_root, const std::string& url);

}  // namespace hyper::cli
