// The peers a swarm may dial, sans-IO (hyperswarm's lib/queue.js, in spirit): peers found by
// lookups (on the DHT or the LAN) wait here until dialled; LAN peers go first, then those that
// failed least. A dial that fails, or a connection that closes, puts the peer back after a
// backoff (1 s, 5 s, 15 s); after `max_retries` failed dials in a row it is given up for
// `forget_after` (a later lookup may bring it back then). A banned peer (ourselves, a duplicate,
// one that misbehaved) is never dialled again. At most `max_known` peers are remembered.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/udp_socket.h"

namespace hyper::swarm {

// Whether an address found by a lookup may be dialled: a port, and an IPv4 unicast host (not
// 0.0.0.0, broadcast, multicast or reserved: a DHT node may answer anything).
bool Dialable(const runtime::UdpEndpoint& peer);

struct PeerQueueOptions {
  std::vector<runtime::Duration> backoff = {std::chrono::seconds(1), std::chrono::seconds(5),
                                            std::chrono::seconds(15)};
  size_t max_retries = 3;
  runtime::Duration forget_after = std::chrono::seconds(60);
  size_t max_known = 4096;
};

class PeerQueue {
 public:
  explicit PeerQueue(PeerQueueOptions options = {});

  // A peer found by a lookup (`local`: on the LAN). Returns true when it is now waiting to be
  // dialled (new, or known and idle); false when it is already waiting, being dialled or
  // connected, banned, given up for now, or when too many peers are known.
  bool Add(const runtime::UdpEndpoint& peer, bool local, runtime::TimePoint now);
  // The next peer whose turn has come, marked as being dialled.
  std::optional<runtime::UdpEndpoint> Next(runtime::TimePoint now);
  // When the next waiting peer's turn comes (nullopt: none waits).
  std::optional<runtime::TimePoint> NextReady() const;
  // The dial failed (`connected` false), or a connection that had opened closed.
  void Done(const runtime::UdpEndpoint& peer, bool connected, runtime::TimePoint now);
  // The dial succeeded: the peer is connected until Done.
  void Connected(const runtime::UdpEndpoint& peer);
  // Never dial this peer again.
  void Ban(const runtime::UdpEndpoint& peer);
  bool banned(const runtime::UdpEndpoint& peer) const;

  size_t known() const { return peers_.size(); }
  size_t waiting() const;

 private:
  enum class State { kWaiting, kDialling, kConnected, kGivenUp, kBanned };
  struct Entry {
    runtime::UdpEndpoint address;
    State state = State::kWaiting;
    bool local = false;
    size_t failures = 0;  // failed dials in a row
    runtime::TimePoint ready{};
  };
  static std::string Key(const runtime::UdpEndpoint& e) { return e.ToString(); }
  void Wait(Entry& e, runtime::Duration delay, runtime::TimePoint now);

  PeerQueueOptions options_;
  std::map<std::string, Entry> peers_;
};

}  // namespace hyper::swarm
