// One uTP connection (BEP 29), sans IO: it is given the packets addressed to it (OnPacket) and
// hands the packets it sends to a callback; time comes from an injected Clock (a VirtualClock
// in tests). It behaves as libutp (utp-native 2.5.3) does on the wire: the same handshake and
// connection ids, selective acks sent and honoured, RTT and RTO computed the same way, resends
// on timeout and on selective acks, LEDBAT congestion control with a 100 ms target, FIN in both
// directions, RESET, and the same retransmission limits. See docs/utp.md.
//
//   Connection c(clock, send, options);          // send(datagram) puts it on the wire
//   c.set_callbacks({...});
//   c.Connect(recv_id, seq);                     // or Accept(syn, seq), from the Multiplexer
//   c.OnPacket(packet);                          // every decoded packet for this connection
//   size_t n = c.Write(bytes);                   // takes what fits; on_writable says when more
//   c.End();                                     // FIN after the queued data
//
// Everything runs on the clock's timer thread (the loop); nothing blocks. A callback must not
// destroy the connection: drop it after on_close, on a later turn (the Multiplexer does). Memory is
// bounded: at most 1023 packets in flight, a reorder buffer of at most 1024 packets (those further
// ahead are dropped), and Write takes at most `send_buffer` bytes not yet acknowledged.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"
#include "hyper/utp/delay_history.h"
#include "hyper/utp/packet.h"

namespace hyper::utp {

struct ConnectionOptions {
  // libutp's opt_sndbuf: the most bytes in flight (a cap on the congestion window) and the
  // most Write takes that are not yet acknowledged.
  size_t send_buffer = 1024 * 1024;
  // libutp's opt_rcvbuf: the window we advertise, less what waits in the reorder buffer.
  size_t receive_buffer = 1024 * 1024;
  // LEDBAT's target one-way queueing delay (libutp's CCONTROL_TARGET).
  runtime::Duration target_delay = std::chrono::milliseconds(100);
  // Payload bytes per DATA packet: libutp's IPv4 MTU (1402) less the 20-byte header.
  size_t packet_size = 1382;
  // Closes the connection with Timeout when nothing at all has come from the peer for this
  // long (utp-native's setTimeout; libutp alone never times out an idle connection). 0: off.
  runtime::Duration idle_timeout{0};
};

struct ConnectionCallbacks {
  std::function<void()> on_connect;             // the initiator's SYN was answered
  std::function<void(ByteView)> on_data;        // in order, each byte once
  std::function<void()> on_end;                 // the peer's FIN: it sends nothing more
  std::function<void()> on_writable;            // Write refused bytes before; it takes more now
  std::function<void(const Status&)> on_close;  // once, last; Ok when both sides finished
};

struct ConnectionStats {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;
  uint64_t packets_resent = 0;     // DATA/FIN/SYN sent again (timeouts and selective acks)
  uint64_t timeouts = 0;           // retransmission timeouts
  uint64_t fast_resends = 0;       // resends prompted by selective acks
  uint64_t bytes_delivered = 0;    // handed to on_data
  size_t max_reorder_packets = 0;  // the reorder buffer's high-water mark
};

class Connection {
 public:
  enum class State { kIdle, kSynSent, kSynReceived, kConnected, kClosed };
  using Send = std::function<void(ByteView datagram)>;

  static constexpr uint16_t kOutgoingBufferMax = 1024;  // libutp's OUTGOING_BUFFER_MAX_SIZE
  static constexpr uint16_t kReorderBufferMax = 1024;   // libutp's REORDER_BUFFER_MAX_SIZE

  Connection(runtime::Clock& clock, Send send, ConnectionOptions options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_callbacks(ConnectionCallbacks callbacks) { callbacks_ = std::move(callbacks); }
  // Called after on_close (the Multiplexer's, to forget the connection on a later turn).
  void set_closed_hook(std::function<void()> hook) { closed_hook_ = std::move(hook); }

  // The initiator: sends a SYN with connection id `receive_id` (we send with receive_id + 1)
  // and sequence number `initial_seq`.
  void Connect(uint16_t receive_id, uint16_t initial_seq);
  // The acceptor of `syn` (a SYN with connection id c: we receive on c + 1 and send with c);
  // answers it with a STATE whose sequence number is `initial_seq`.
  void Accept(const PacketView& syn, uint16_t initial_seq);

  // A packet the Multiplexer matched to this connection (any type but RESET).
  void OnPacket(const PacketView& packet);
  // A RESET for this connection.
  void OnReset();

  // Queues bytes to send; returns how many it took (0 once End was called or closed).
  size_t Write(ByteView bytes);
  // No more writes: a FIN follows the queued bytes. The connection closes (Ok) once the peer
  // acknowledged our FIN and sent its own.
  void End();
  // End, and stop reading: closes (Ok) as soon as our FIN is acknowledged.
  void Close();
  // Sends a RESET and closes at once with Cancelled.
  void Abort();
  // Bytes handed to on_data that the owner has not consumed yet (libutp's read buffer size):
  // the window we advertise shrinks by them. When they fall so far that the window opens again
  // from under a packet, a STATE tells the peer at once (libutp's utp_read_drained).
  void SetUnreadBytes(size_t bytes);

  State state() const { return state_; }
  bool closed() const { return state_ == State::kClosed; }
  uint16_t receive_id() const { return receive_id_; }
  uint16_t send_id() const { return send_id_; }
  const ConnectionStats& stats() const { return stats_; }
  // Congestion state, for tests and benchmarks.
  size_t max_window() const { return max_window_; }
  uint32_t rto_ms() const { return rto_ms_; }
  uint32_t rtt_ms() const { return rtt_ms_; }
  // Bytes Write took that the peer has not acknowledged.
  size_t unacknowledged_bytes() const { return pending_bytes() + bytes_in_packets_; }
  size_t reorder_packets() const { return reorder_count_; }

 private:
  struct OutgoingPacket {
    Bytes wire;  // header (no extension) + payload
    size_t payload = 0;
    uint32_t transmissions = 0;
    bool need_resend = false;
    uint64_t time_sent_us = 0;
  };

  uint64_t NowUs() const;
  uint64_t NowMs() const { return NowUs() / 1000; }
  size_t pending_bytes() const { return pending_.size() - pending_offset_; }
  size_t ReceiveWindow() const;
  bool IsFull(size_t bytes);
  OutgoingPacket* Outgoing(uint16_t seq);

  void SendRaw(Bytes& wire, bool count_sent = true);
  void SendPacket(OutgoingPacket& packet);
  void SendAck();
  void SendKeepAlive();
  void QueuePacket(PacketType type, ByteView payload);
  void Flush();
  void CheckTimeouts();
  void ArmTimer();
  void AckPacket(uint16_t seq);
  size_t SelectiveAckBytes(uint16_t base, ByteView mask, int64_t& min_rtt_us);
  void SelectiveAck(uint16_t base, ByteView mask);
  // When a resent packet still missing counts as lost again (UINT64_MAX: not resent).
  uint64_t LostResendDueUs(const OutgoingPacket& packet) const;
  bool ResendWasLost(const OutgoingPacket& packet, uint64_t now_us) const;
  // The oldest packet in flight when it may be resent before the RTO, with when (`due_us`)
  // and whether that counts as a loss (see CheckTimeouts and docs/utp.md).
  OutgoingPacket* ProbeCandidate(uint64_t& due_us, bool& lost);
  void ApplyCongestionControl(size_t bytes_acked, int64_t min_rtt_us);
  void MaybeDecayWindow();
  void Deliver(ByteView data);
  void Finish(const Status& status);
  void MaybeFinishGracefully();

  runtime::Clock& clock_;
  Send send_;
  ConnectionOptions options_;
  ConnectionCallbacks callbacks_;
  std::function<void()> closed_hook_;
  runtime::Timer timer_;
  ConnectionStats stats_;

  State state_ = State::kIdle;
  uint16_t receive_id_ = 0;
  uint16_t send_id_ = 0;
  uint16_t seq_nr_ = 1;  // the next sequence number we send
  uint16_t ack_nr_ = 0;  // the last in-order sequence number received
  uint16_t cur_window_packets_ = 0;
  uint16_t fast_resend_seq_nr_ = 1;
  uint16_t timeout_seq_nr_ = 0;
  uint16_t eof_pkt_ = 0;
  uint16_t reorder_count_ = 0;
  uint32_t retransmit_count_ = 0;
  uint32_t duplicate_ack_ = 0;
  uint32_t reply_micro_ = 0;
  size_t cur_window_ = 0;  // payload bytes in flight
  size_t max_window_ = 0;
  size_t max_window_user_ = 0;
  size_t ssthresh_ = 0;
  size_t bytes_in_packets_ = 0;  // payload of the packets not yet acknowledged
  size_t reorder_bytes_ = 0;
  size_t unread_bytes_ = 0;
  bool slow_start_ = true;
  bool fast_timeout_ = false;
  bool got_fin_ = false;
  bool got_fin_reached_ = false;
  bool fin_requested_ = false;
  bool fin_sent_ = false;
  bool fin_sent_acked_ = false;
  bool close_requested_ = false;
  bool want_writable_ = false;
  uint32_t rtt_ms_ = 0;
  uint32_t rtt_var_ms_ = 800;
  uint32_t rto_ms_ = 3000;
  uint32_t retransmit_timeout_ms_ = 0;
  uint64_t rto_timeout_ms_ = 0;
  uint64_t zerowindow_time_ms_ = 0;
  uint64_t last_got_packet_ms_ = 0;
  uint64_t last_got_packet_us_ = 0;
  uint64_t last_sent_packet_ms_ = 0;
  uint64_t last_maxed_out_window_ms_ = 0;
  uint64_t last_window_decay_ms_ = 0;
  DelayHistory our_delay_;
  DelayHistory their_delay_;

  std::vector<std::optional<OutgoingPacket>> outgoing_;  // kOutgoingBufferMax slots by seq
  std::vector<std::optional<Bytes>> reorder_;            // kReorderBufferMax slots by seq
  Bytes pending_;                                        // written, not yet in a packet
  size_t pending_offset_ = 0;
};

}  // namespace hyper::utp
