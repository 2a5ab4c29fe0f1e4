// uTP's side of a UDP socket shared with the DHT, as utp-native shares its socket with
// dht-rpc: every datagram received goes to OnDatagram first; it claims (returns true for) what
// libutp's utp_process_udp claims (at least 20 bytes, version 1 in the low nibble of the first
// byte) and routes it by (source address, connection id) to a Connection; everything else
// (returns false) is the caller's to give to the DHT. It answers a packet for no connection with
// a RESET (at most once per address, id and sequence number in 10 s, at most 1000 remembered),
// accepts SYNs (at most `max_connections` connections), and forgets a connection on the turn
// after it closed. Sans IO: datagrams go out through `send_to`.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/runtime/udp_socket.h"
#include "hyper/utp/connection.h"

namespace hyper::utp {

struct MultiplexerOptions {
  ConnectionOptions connection;
  size_t max_connections = 3000;    // libutp refuses SYNs past 3000 sockets
  size_t max_reset_records = 1000;  // libutp's RST_INFO_LIMIT
  // Connection ids and initial sequence numbers; a seeded generator by default.
  std::function<uint32_t()> random;
};

struct MultiplexerStats {
  uint64_t claimed = 0;       // datagrams that were uTP's
  uint64_t malformed = 0;     // claimed but undecodable (dropped)
  uint64_t resets_sent = 0;   // answers to packets for no connection
  uint64_t syns_refused = 0;  // no accept callback, or too many connections
};

class Multiplexer {
 public:
  using SendTo = std::function<void(const runtime::UdpEndpoint& to, ByteView datagram)>;
  // A connection accepted from a SYN; set its callbacks here (its STATE is already sent).
  using Accepted =
      std::function<void(const std::shared_ptr<Connection>&, const runtime::UdpEndpoint& from)>;

  Multiplexer(runtime::Clock& clock, SendTo send_to, MultiplexerOptions options = {});
  // Aborts (RESET) every connection still open: they are closed with Cancelled.
  ~Multiplexer();
  Multiplexer(const Multiplexer&) = delete;
  Multiplexer& operator=(const Multiplexer&) = delete;

  // Without it, SYNs are claimed and dropped (as libutp without an accept callback).
  void set_accept(Accepted accepted) { accepted_ = std::move(accepted); }

  // True when the datagram is uTP's (handled here), false when it is someone else's.
  bool OnDatagram(const runtime::UdpEndpoint& from, ByteView datagram);

  // Opens a connection to `to` (sends its SYN); `callbacks` are set before anything happens.
  // Busy when `max_connections` are open.
  Result<std::shared_ptr<Connection>> Connect(const runtime::UdpEndpoint& to,
                                              ConnectionCallbacks callbacks);

  size_t connections() const { return connections_.size(); }
  const MultiplexerStats& stats() const { return stats_; }

 private:
  using Key = std::tuple<std::string, uint16_t, uint16_t>;  // host, port, receive id
  struct ResetRecord {
    Key key;
    uint16_t seq_nr;
    uint64_t at_ms;
  };

  std::shared_ptr<Connection> Find(const runtime::UdpEndpoint& from, uint16_t id) const;
  std::shared_ptr<Connection> Add(const runtime::UdpEndpoint& peer, uint16_t receive_id);
  void SendReset(const runtime::UdpEndpoint& to, uint16_t connection_id, uint16_t seq_nr);
  void Sweep();
  uint32_t Random();

  runtime::Clock& clock_;
  SendTo send_to_;
  MultiplexerOptions options_;
  Accepted accepted_;
  MultiplexerStats stats_;
  std::map<Key, std::shared_ptr<Connection>> connections_;
  std::deque<ResetRecord> resets_;
  std::mt19937 rng_;
  runtime::Timer sweep_;
};

}  // namespace hyper::utp
