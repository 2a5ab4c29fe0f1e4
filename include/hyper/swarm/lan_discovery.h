// LAN discovery over multicast DNS, compatible with @hyperswarm/discovery 2 (multicast-dns 7).
// A topic (32 bytes) is named `<hex of its first 20 bytes>.hyperswarm.local`. A lookup sends
// SRV questions for the name to 224.0.0.251:5353; an announced topic answers them with an SRV
// record (target 0.0.0.0: "the address this packet came from", port: the announced TCP port),
// a TXT record `id=<32 random bytes>` by which a node knows its own answers, and an A record
// `referrer.hyperswarm.local` holding the asker's address. See docs/formats/mdns.md.
//
// Sans-IO like DhtNode: datagrams come in through OnDatagram, go out through `send` (always
// to the group); LanDiscovery::Open binds the multicast socket on the runtime's loop. Every
// method and callback runs on one thread (the loop's); timers run on the given Clock.
//
// Schedule: on joining (Announce or Lookup of a topic), sends at 0, 1 and 3 s (a lookup
// queries, an announce answers unasked as the reference does once), so that two nodes that
// join together meet within about a second even if one packet is lost; a lookup then queries
// every 30-60 s (the reference's eager timer). Bounds: at most `max_topics` topics; a topic is
// answered at most once per `answer_interval` however many queries come (one answer, to the
// group, serves every query meanwhile; no reply is ever sent to a single asker); a peer is
// reported again only `peer_repeat` after it was last reported, and at most `max_peers_per_topic`
// are remembered per topic.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/runtime/udp_socket.h"
#include "hyper/swarm/mdns_message.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

using runtime::UdpEndpoint;

struct LanDiscoveryOptions {
  std::string domain = "hyperswarm.local";
  UdpEndpoint group{"224.0.0.251", 5353};
  // Open only: the local IPv4 address of the interface to join on and send from (empty: every
  // interface, as multicast-dns does; see runtime::MulticastOptions), and the address to bind
  // (with the group's port).
  std::string interface_address;
  std::string bind_host = "0.0.0.0";
  // Sends after a join, counted from the join.
  std::vector<runtime::Duration> first_sends = {std::chrono::seconds(0), std::chrono::seconds(1),
                                                std::chrono::seconds(3)};
  // Then a lookup queries after a random wait in [requery, 2 * requery).
  runtime::Duration requery = std::chrono::seconds(30);
  runtime::Duration answer_interval = std::chrono::seconds(1);
  runtime::Duration peer_repeat = std::chrono::seconds(30);
  size_t max_topics = 1024;
  size_t max_peers_per_topic = 256;
};

struct LanDiscoveryCounters {
  uint64_t datagrams_in = 0;
  uint64_t malformed_in = 0;  // did not decode (other mDNS traffic decodes and is ignored)
  uint64_t queries_sent = 0;
  uint64_t answers_sent = 0;  // response datagrams, asked or not
  uint64_t peers_reported = 0;
};

class LanDiscovery {
 public:
  using Topic = Key32;
  // Sends one datagram (to the group).
  using Send = std::function<void(const UdpEndpoint& to, ByteView datagram)>;
  // A peer that announced the topic: its address (as the packet came from it, unless its SRV
  // record names another IPv4 address) and its TCP port.
  using OnPeer = std::function<void(const UdpEndpoint& peer)>;

  LanDiscovery(runtime::Clock& clock, Send send, LanDiscoveryOptions options = {});
  // Binds options.bind_host:group.port shared with the host's other mDNS sockets, joins the
  // group, and makes the discovery; IOError/InvalidArgument from the socket. On the loop.
  static Result<std::unique_ptr<LanDiscovery>> Open(runtime::UdpSocketFactory& sockets,
                                                    runtime::Clock& clock,
                                                    LanDiscoveryOptions options = {});
  ~LanDiscovery();
  LanDiscovery(const LanDiscovery&) = delete;
  LanDiscovery& operator=(const LanDiscovery&) = delete;

  // One datagram from the group.
  void OnDatagram(const UdpEndpoint& from, ByteView datagram);

  // Answers queries for `topic` with `tcp_port` (a later call changes the port) and tells the
  // group at once. Busy when max_topics topics are joined already; InvalidArgument for port 0
  // (or a domain that is no DNS name); Cancelled after Close.
  Status Announce(const Topic& topic, uint16_t tcp_port);
  // Queries for `topic` and calls `on_peer` with every other node that answers (a later call
  // replaces the callback). The same topic may be announced too: our own answers are never
  // reported. Errors as Announce (InvalidArgument for an empty callback).
  Status Lookup(const Topic& topic, OnPeer on_peer);
  // Stops announcing and looking up `topic` (nothing if not joined).
  void Leave(const Topic& topic);
  // Leaves every topic and closes the socket (when opened by Open); nothing is sent or called
  // back afterwards. Also done by the destructor. Leave and Close may be called from our
  // callbacks (and from inside `send`); the destructor may not.
  void Close();

  // The name of `topic` in DNS: hex of its first 20 bytes, then the domain.
  std::string NameOf(const Topic& topic) const;
  size_t topics() const { return topics_.size(); }
  const LanDiscoveryCounters& counters() const { return counters_; }

 private:
  struct TopicState;

  Result<TopicState*> Join(const Topic& topic);
  void StartRounds(TopicState& t);
  void OnRound(const std::string& name);
  void SendQuery(const std::string& name);
  void OnQuery(const MdnsMessage& m, const UdpEndpoint& from);
  void OnResponse(const MdnsMessage& m, const UdpEndpoint& from);
  void FlushAnswers();
  void SendDatagram(const MdnsMessage& m);
  runtime::Duration Jitter(runtime::Duration base);

  runtime::Clock& clock_;
  Send send_;
  LanDiscoveryOptions options_;
  std::map<std::string, std::unique_ptr<TopicState>> topics_;  // by name
  std::set<std::string> owed_;  // names of announced topics with an answer to send
  std::string referrer_;        // the last asker's IPv4 address, for the A record
  runtime::Timer answer_timer_;
  std::unique_ptr<runtime::UdpSocket> socket_;  // when made by Open
  bool closed_ = false;
  LanDiscoveryCounters counters_;
};

}  // namespace hyper::swarm
