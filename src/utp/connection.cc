#include "hyper/utp/connection.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace hyper::utp {
namespace {

// libutp's constants (utp_internal.cpp).
constexpr uint64_t kKeepAliveMs = 29000;
constexpr uint32_t kDuplicateAcksBeforeResend = 3;
constexpr size_t kMinWindow = 10;
constexpr double kMaxCwndIncreaseBytesPerRtt = 3000;
constexpr uint64_t kMaxWindowDecayMs = 100;
constexpr uint64_t kZeroWindowMs = 15000;
constexpr size_t kMaxResendsPerAck = 4;
constexpr size_t kMaxEack = 128;
constexpr size_t kLibutpPacketSize = 1435;
// Ours: an accepted connection whose initiator never sends data is dropped after this long
// (libutp keeps it until its owner closes it); longer than the peer's keep-alive.
constexpr uint64_t kSynReceivedTimeoutMs = 60000;
// Ours: a resent packet still missing from a selective ack this long after its resend was
// lost again (at least this, or the round trip and four deviations); see ResendWasLost.
constexpr uint64_t kMinLostResendWaitMs = 10;
constexpr uint16_t kRingMask = Connection::kOutgoingBufferMax - 1;

bool SeqLess(uint16_t a, uint16_t b) { return WrappingLess(a, b, 0xffff); }

}  // namespace

Connection::Connection(runtime::Clock& clock, Send send, ConnectionOptions options)
    : clock_(clock),
      send_(std::move(send)),
      options_(options),
      timer_(clock),
      outgoing_(kOutgoingBufferMax),
      reorder_(kReorderBufferMax) {
  if (options_.packet_size == 0) options_.packet_size = 1;
  const uint64_t now = NowMs();
  our_delay_.Clear(now);
  their_delay_.Clear(now);
  max_window_ = options_.packet_size;
  max_window_user_ = 255 * kLibutpPacketSize;
  ssthresh_ = options_.send_buffer;
  last_got_packet_ms_ = now;
  last_sent_packet_ms_ = now;
}

Connection::~Connection() { timer_.Cancel(); }

uint64_t Connection::NowUs() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.Now().time_since_epoch())
          .count());
}

size_t Connection::ReceiveWindow() const {
  const size_t used = reorder_bytes_ + unread_bytes_;
  return options_.receive_buffer > used ? options_.receive_buffer - used : 0;
}

void Connection::SetUnreadBytes(size_t bytes) {
  const size_t before = ReceiveWindow();
  unread_bytes_ = bytes;
  if (state_ == State::kConnected && before < options_.packet_size &&
      ReceiveWindow() >= options_.packet_size) {
    SendAck();
  }
}

Connection::OutgoingPacket* Connection::Outgoing(uint16_t seq) {
  auto& slot = outgoing_[seq & kRingMask];
  if (!slot || GetUint16BE(slot->wire.data() + 16) != seq) return nullptr;
  return &*slot;
}

bool Connection::IsFull(size_t bytes) {
  bytes = std::min(bytes, options_.packet_size);
  const size_t max_send = std::min({max_window_, options_.send_buffer, max_window_user_});
  if (cur_window_packets_ >= kOutgoingBufferMax - 1) {  // one slot kept for the FIN
    last_maxed_out_window_ms_ = NowMs();
    return true;
  }
  if (cur_window_ + bytes > max_send) {
    last_maxed_out_window_ms_ = NowMs();
    // Ours: with nothing in flight one packet may go, so that a congestion window decayed
    // below a packet never stalls the connection until a timeout. A peer's zero window is
    // obeyed, as libutp does: its next packet or the 15 s probe opens it.
    return cur_window_ != 0 || max_window_user_ == 0;
  }
  return false;
}

void Connection::SendRaw(Bytes& wire, bool count_sent) {
  const uint64_t now_us = NowUs();
  PutUint32BE(wire.data() + 4, static_cast<uint32_t>(now_us));
  PutUint32BE(wire.data() + 8, reply_micro_);
  PutUint32BE(wire.data() + 12, static_cast<uint32_t>(ReceiveWindow()));
  last_sent_packet_ms_ = now_us / 1000;
  if (count_sent) ++stats_.packets_sent;
  send_(wire);
}

void Connection::SendPacket(OutgoingPacket& packet) {
  if (packet.transmissions == 0 || packet.need_resend) cur_window_ += packet.payload;
  if (packet.transmissions > 0) ++stats_.packets_resent;
  packet.need_resend = false;
  PutUint16BE(packet.wire.data() + 18, ack_nr_);
  packet.time_sent_us = NowUs();
  ++packet.transmissions;
  SendRaw(packet.wire);
}

void Connection::SendAck() {
  PacketHeader h;
  h.type = PacketType::kState;
  h.connection_id = send_id_;
  h.seq_nr = seq_nr_;
  h.ack_nr = ack_nr_;
  Bytes wire;
  if (reorder_count_ != 0 && !got_fin_reached_) {
    // Bit i: ack_nr + 2 + i is in the reorder buffer (32 bits, as libutp sends 4 bytes).
    uint8_t mask[4] = {0, 0, 0, 0};
    for (uint16_t i = 0; i < 32; ++i) {
      const uint16_t seq = static_cast<uint16_t>(ack_nr_ + 2 + i);
      if (reorder_[seq & kRingMask])
        mask[i / 8] = static_cast<uint8_t>(mask[i / 8] | (1 << (i % 8)));
    }
    wire = EncodePacket(h, {}, true, ByteView(mask, 4));
  } else {
    wire = EncodePacket(h, {});
  }
  SendRaw(wire);
}

void Connection::SendKeepAlive() {
  --ack_nr_;
  SendAck();
  ++ack_nr_;
}

void Connection::QueuePacket(PacketType type, ByteView payload) {
  if (cur_window_packets_ == 0) {
    retransmit_timeout_ms_ = rto_ms_;
    rto_timeout_ms_ = NowMs() + retransmit_timeout_ms_;
  }
  PacketHeader h;
  h.type = type;
  h.connection_id = type == PacketType::kSyn ? receive_id_ : send_id_;
  h.seq_nr = seq_nr_;
  h.ack_nr = ack_nr_;
  OutgoingPacket packet;
  packet.wire = EncodePacket(h, payload);
  packet.payload = payload.size();
  outgoing_[seq_nr_ & kRingMask] = std::move(packet);
  bytes_in_packets_ += payload.size();
  ++seq_nr_;
  ++cur_window_packets_;
  SendPacket(*outgoing_[(seq_nr_ - 1) & kRingMask]);
}

void Connection::Flush() {
  if (state_ != State::kConnected) return;
  // First what a timeout marked for resending, oldest first, as the window allows.
  for (uint16_t seq = seq_nr_ - cur_window_packets_; seq != seq_nr_; ++seq) {
    OutgoingPacket* p = Outgoing(seq);
    if (p == nullptr || (p->transmissions > 0 && !p->need_resend)) continue;
    if (IsFull(p->payload)) return;
    SendPacket(*p);
  }
  while (pending_bytes() > 0) {
    const size_t n = std::min(pending_bytes(), options_.packet_size);
    if (IsFull(n)) break;
    QueuePacket(PacketType::kData, ByteView(pending_).subspan(pending_offset_, n));
    pending_offset_ += n;
  }
  if (pending_offset_ == pending_.size()) {
    pending_.clear();
    pending_offset_ = 0;
  }
  if (fin_requested_ && !fin_sent_ && pending_bytes() == 0 &&
      cur_window_packets_ < kOutgoingBufferMax) {
    fin_sent_ = true;
    QueuePacket(PacketType::kFin, {});
  }
}

void Connection::Connect(uint16_t receive_id, uint16_t initial_seq) {
  if (state_ != State::kIdle) return;
  receive_id_ = receive_id;
  send_id_ = static_cast<uint16_t>(receive_id + 1);
  state_ = State::kSynSent;
  seq_nr_ = initial_seq;
  fast_resend_seq_nr_ = initial_seq;
  rto_ms_ = 3000;
  QueuePacket(PacketType::kSyn, {});
  ArmTimer();
}

void Connection::Accept(const PacketView& syn, uint16_t initial_seq) {
  if (state_ != State::kIdle || syn.header.type != PacketType::kSyn) return;
  receive_id_ = static_cast<uint16_t>(syn.header.connection_id + 1);
  send_id_ = syn.header.connection_id;
  ack_nr_ = syn.header.seq_nr;
  seq_nr_ = initial_seq;
  fast_resend_seq_nr_ = initial_seq;
  state_ = State::kSynReceived;
  last_got_packet_ms_ = NowMs();
  ++stats_.packets_received;
  SendAck();
  ArmTimer();
}

void Connection::AckPacket(uint16_t seq) {
  OutgoingPacket* p = Outgoing(seq);
  if (p == nullptr || p->transmissions == 0) return;
  const uint64_t now_us = NowUs();
  if (p->transmissions == 1) {
    // Karn: only packets sent once give a round-trip sample.
    const auto ertt = static_cast<uint32_t>((now_us - p->time_sent_us) / 1000);
    if (rtt_ms_ == 0) {
      rtt_ms_ = ertt;
      rtt_var_ms_ = ertt / 2;
    } else {
      const int64_t delta = static_cast<int64_t>(rtt_ms_) - ertt;
      const int64_t var = static_cast<int64_t>(rtt_var_ms_) +
                          (std::llabs(delta) - static_cast<int64_t>(rtt_var_ms_)) / 4;
      rtt_var_ms_ = static_cast<uint32_t>(std::max<int64_t>(var, 0));
      rtt_ms_ = rtt_ms_ - rtt_ms_ / 8 + ertt / 8;
    }
    rto_ms_ = std::max<uint32_t>(rtt_ms_ + rtt_var_ms_ * 4, 1000);
  }
  retransmit_timeout_ms_ = rto_ms_;
  rto_timeout_ms_ = now_us / 1000 + rto_ms_;
  if (!p->need_resend) cur_window_ -= p->payload;
  bytes_in_packets_ -= p->payload;
  outgoing_[seq & kRingMask].reset();
  retransmit_count_ = 0;
}

size_t Connection::SelectiveAckBytes(uint16_t base, ByteView mask, int64_t& min_rtt_us) {
  if (cur_window_packets_ == 0) return 0;
  size_t acked = 0;
  const uint64_t now_us = NowUs();
  for (int bit = static_cast<int>(mask.size() * 8) - 1; bit >= 0; --bit) {
    const auto seq = static_cast<uint16_t>(base + bit);
    if (static_cast<uint16_t>(seq_nr_ - seq - 1) >= static_cast<uint16_t>(cur_window_packets_ - 1))
      continue;
    OutgoingPacket* p = Outgoing(seq);
    if (p == nullptr || p->transmissions == 0) continue;
    if ((mask[bit >> 3] & (1 << (bit & 7))) != 0) {
      acked += p->payload;
      min_rtt_us = std::min<int64_t>(min_rtt_us, static_cast<int64_t>(now_us - p->time_sent_us));
    }
  }
  return acked;
}

uint64_t Connection::LostResendDueUs(const OutgoingPacket& packet) const {
  if (packet.transmissions == 0 || packet.need_resend) return UINT64_MAX;
  // A round trip and four deviations (the RTO without libutp's 1 s floor), doubled for every
  // further resend of the same packet.
  const uint32_t shift =
      packet.transmissions >= 2 ? std::min<uint32_t>(packet.transmissions - 2, 6) : 0;
  const uint64_t wait_ms = std::max<uint64_t>(rtt_ms_ + 4ull * rtt_var_ms_, kMinLostResendWaitMs)
                           << shift;
  return packet.time_sent_us + wait_ms * 1000;
}

bool Connection::ResendWasLost(const OutgoingPacket& packet, uint64_t now_us) const {
  return packet.transmissions >= 2 && now_us >= LostResendDueUs(packet);
}

Connection::OutgoingPacket* Connection::ProbeCandidate(uint64_t& due_us, bool& lost) {
  due_us = UINT64_MAX;
  lost = false;
  if (state_ != State::kConnected || cur_window_packets_ == 0 || retransmit_count_ != 0) {
    return nullptr;
  }
  const auto oldest = static_cast<uint16_t>(seq_nr_ - cur_window_packets_);
  OutgoingPacket* head = Outgoing(oldest);
  if (head == nullptr || head->transmissions == 0 || head->need_resend) return nullptr;
  const uint64_t wait_us =
      std::max<uint64_t>(rtt_ms_ + 4ull * rtt_var_ms_, kMinLostResendWaitMs) * 1000;
  if (head->transmissions >= 2) {
    // Resent already (selective acks never resend a packet twice): that resend was lost too.
    due_us = LostResendDueUs(*head);
    lost = true;
    return head;
  }
  if (cur_window_packets_ > kDuplicateAcksBeforeResend &&
      static_cast<uint16_t>(oldest - fast_resend_seq_nr_) <= kOutgoingBufferMax) {
    // The peer answered a round trip after the third packet behind it left, and has not
    // acknowledged it: lost. (libutp acks on its own DATA packets without a selective ack, so
    // while it sends, the selective ack that would resend it never comes.)
    const OutgoingPacket* later =
        Outgoing(static_cast<uint16_t>(oldest + kDuplicateAcksBeforeResend));
    if (later != nullptr && later->transmissions > 0 &&
        last_got_packet_us_ >= later->time_sent_us + rtt_ms_ * 1000ull) {
      due_us = later->time_sent_us + wait_us;
      lost = true;
      return head;
    }
  }
  if (pending_bytes() == 0) {
    // A tail: nothing waits to be sent, so too few packets may follow it for selective acks.
    due_us = head->time_sent_us + wait_us;
    return head;
  }
  return nullptr;
}

void Connection::SelectiveAck(uint16_t base, ByteView mask) {
  if (cur_window_packets_ == 0) return;
  const uint64_t now_us = NowUs();
  size_t count = 0;
  uint16_t resends[kMaxEack];
  size_t nr = 0;
  // From the highest bit down to the packet before base (ack_nr + 1, the one missing): a
  // packet not acknowledged with at least 3 acknowledged after it is taken as lost.
  for (int bit = static_cast<int>(mask.size() * 8) - 1; bit >= -1; --bit) {
    const auto seq = static_cast<uint16_t>(base + bit);
    if (static_cast<uint16_t>(seq_nr_ - seq - 1) >= static_cast<uint16_t>(cur_window_packets_ - 1))
      continue;
    const bool set = bit >= 0 && (mask[bit >> 3] & (1 << (bit & 7))) != 0;
    if (set) ++count;
    OutgoingPacket* p = Outgoing(seq);
    if (p == nullptr || p->transmissions == 0) continue;
    if (set) {
      AckPacket(seq);
      continue;
    }
    if ((static_cast<uint16_t>(seq - fast_resend_seq_nr_) <= kOutgoingBufferMax &&
         count >= kDuplicateAcksBeforeResend) ||
        ResendWasLost(*p, now_us)) {
      if (nr >= kMaxEack - 2) {
        std::copy(resends + kMaxEack / 2, resends + nr, resends);
        nr -= kMaxEack / 2;
      }
      resends[nr++] = seq;
    }
  }
  const auto oldest = static_cast<uint16_t>(base - 1);
  if (static_cast<uint16_t>(oldest - fast_resend_seq_nr_) <= kOutgoingBufferMax &&
      count >= kDuplicateAcksBeforeResend) {
    resends[nr++] = oldest;
  } else if (const OutgoingPacket* p = Outgoing(oldest);
             p != nullptr && ResendWasLost(*p, now_us)) {
    resends[nr++] = oldest;
  }
  bool back_off = false;
  size_t sent = 0;
  while (nr > 0) {
    const uint16_t seq = resends[--nr];
    OutgoingPacket* p = Outgoing(seq);
    if (p == nullptr) continue;
    back_off = true;
    ++stats_.fast_resends;
    SendPacket(*p);
    if (SeqLess(fast_resend_seq_nr_, static_cast<uint16_t>(seq + 1))) {
      fast_resend_seq_nr_ = static_cast<uint16_t>(seq + 1);
    }
    if (++sent >= kMaxResendsPerAck) break;
  }
  if (back_off) MaybeDecayWindow();
  duplicate_ack_ = static_cast<uint32_t>(count);
}

void Connection::MaybeDecayWindow() {
  const uint64_t now = NowMs();
  if (now - last_window_decay_ms_ < kMaxWindowDecayMs) return;
  max_window_ = std::max(max_window_ / 2, kMinWindow);
  last_window_decay_ms_ = now;
  slow_start_ = false;
  ssthresh_ = max_window_;
}

void Connection::ApplyCongestionControl(size_t bytes_acked, int64_t min_rtt_us) {
  const int64_t our_delay = std::min<int64_t>(our_delay_.value(), min_rtt_us);
  double target = static_cast<double>(
      std::chrono::duration_cast<std::chrono::microseconds>(options_.target_delay).count());
  if (target <= 0) target = 100000;
  const double off_target = target - static_cast<double>(our_delay);
  const double window_factor = static_cast<double>(std::min(bytes_acked, max_window_)) /
                               static_cast<double>(std::max(max_window_, bytes_acked));
  const double delay_factor = off_target / target;
  double scaled_gain = kMaxCwndIncreaseBytesPerRtt * window_factor * delay_factor;
  // Grow only while the window is what limits us (it was full in the last second).
  if (scaled_gain > 0 && NowMs() - last_maxed_out_window_ms_ > 1000) scaled_gain = 0;
  const double ledbat = static_cast<double>(max_window_) + scaled_gain;
  const size_t ledbat_cwnd = ledbat < kMinWindow ? kMinWindow : static_cast<size_t>(ledbat);
  if (slow_start_) {
    const auto ss_cwnd =
        static_cast<size_t>(static_cast<double>(max_window_) +
                            window_factor * static_cast<double>(options_.packet_size));
    if (ss_cwnd > ssthresh_) {
      slow_start_ = false;
    } else if (static_cast<double>(our_delay) > target * 0.9) {
      slow_start_ = false;
      ssthresh_ = max_window_;
    } else {
      max_window_ = std::max(ss_cwnd, ledbat_cwnd);
    }
  } else {
    max_window_ = ledbat_cwnd;
  }
  max_window_ = std::clamp(max_window_, kMinWindow, std::max(options_.send_buffer, kMinWindow));
}

void Connection::Deliver(ByteView data) {
  if (data.empty() || close_requested_) return;
  stats_.bytes_delivered += data.size();
  if (callbacks_.on_data) callbacks_.on_data(data);
}

void Connection::OnPacket(const PacketView& packet) {
  if (state_ == State::kClosed || state_ == State::kIdle) return;
  const PacketHeader& h = packet.header;
  if (h.type == PacketType::kReset) {
    OnReset();
    return;
  }
  ++stats_.packets_received;
  const uint64_t now_us = NowUs();
  const uint64_t now_ms = now_us / 1000;
  if (h.type == PacketType::kSyn) {
    // The initiator sends its SYN again when our STATE was lost: answer it again (libutp
    // ignores it, and the connection then fails; answering is what the initiator waits for).
    if (state_ == State::kSynReceived && h.seq_nr == ack_nr_) {
      last_got_packet_ms_ = now_ms;
      SendAck();
    }
    return;
  }
  // An ack of something we never sent is not from our peer. libutp also drops a packet whose
  // ack is more than the packets in flight + 3 behind; we take one up to the whole outgoing
  // ring behind and only ignore its (old) ack: utp-native's DATA packets were seen arriving
  // with acks far older than the STATEs before them (its echo of a burst), and dropping them
  // cost their resend, often after a retransmission timeout. See docs/utp.md.
  const auto allowed = static_cast<uint16_t>(cur_window_packets_ + kOutgoingBufferMax);
  if (SeqLess(static_cast<uint16_t>(seq_nr_ - 1), h.ack_nr) ||
      SeqLess(h.ack_nr, static_cast<uint16_t>(seq_nr_ - 1 - allowed))) {
    return;
  }
  if (state_ == State::kSynSent) ack_nr_ = static_cast<uint16_t>(h.seq_nr - 1);
  last_got_packet_ms_ = now_ms;
  last_got_packet_us_ = now_us;

  // How far past the next expected packet this one is (0: the next one).
  const auto ahead = static_cast<uint16_t>(h.seq_nr - ack_nr_ - 1);
  if (ahead >= kReorderBufferMax) {
    // Old: acknowledge again (our ack may have been lost), unless it is itself an ack.
    if (ahead >= 0x10000 - kReorderBufferMax && h.type != PacketType::kState) SendAck();
    ArmTimer();
    return;
  }

  // The acknowledgement.
  int acks = static_cast<uint16_t>(h.ack_nr - (seq_nr_ - 1 - cur_window_packets_));
  if (acks > cur_window_packets_) acks = 0;
  if (cur_window_packets_ > 0) {
    if (h.ack_nr == static_cast<uint16_t>(seq_nr_ - cur_window_packets_ - 1) &&
        h.type == PacketType::kState) {
      ++duplicate_ack_;
    } else {
      duplicate_ack_ = 0;
    }
  }
  size_t acked_bytes = 0;
  int64_t min_rtt_us = INT64_MAX;
  for (int i = 0; i < acks; ++i) {
    OutgoingPacket* p = Outgoing(static_cast<uint16_t>(seq_nr_ - cur_window_packets_ + i));
    if (p == nullptr || p->transmissions == 0) continue;
    acked_bytes += p->payload;
    min_rtt_us = std::min<int64_t>(min_rtt_us, static_cast<int64_t>(now_us - p->time_sent_us));
  }
  const auto sack_base = static_cast<uint16_t>(h.ack_nr + 2);
  if (packet.has_selective_ack) {
    acked_bytes += SelectiveAckBytes(sack_base, packet.selective_ack, min_rtt_us);
  }

  // One-way delays: theirs (to echo back), ours (the peer's echo), LEDBAT's input.
  const auto now32 = static_cast<uint32_t>(now_us);
  const uint32_t their_delay = h.timestamp_us == 0 ? 0 : now32 - h.timestamp_us;
  reply_micro_ = their_delay;
  const uint32_t previous_base = their_delay_.base();
  if (their_delay != 0) their_delay_.AddSample(their_delay, now_ms);
  if (previous_base != 0 && WrappingLess(their_delay_.base(), previous_base, 0xffffffffu) &&
      previous_base - their_delay_.base() <= 10000) {
    our_delay_.Shift(previous_base - their_delay_.base());  // clock skew
  }
  const uint32_t actual_delay =
      h.timestamp_difference_us == 0x7fffffffu ? 0 : h.timestamp_difference_us;
  if (actual_delay != 0) our_delay_.AddSample(actual_delay, now_ms);
  if (static_cast<int64_t>(our_delay_.value()) > min_rtt_us) {
    our_delay_.Shift(static_cast<uint32_t>(our_delay_.value() - min_rtt_us));
  }
  if (actual_delay != 0 && acked_bytes >= 1) ApplyCongestionControl(acked_bytes, min_rtt_us);

  max_window_user_ = h.wnd_size;
  if (max_window_user_ == 0) zerowindow_time_ms_ = now_ms + kZeroWindowMs;
  if ((h.type == PacketType::kData || h.type == PacketType::kFin) &&
      state_ == State::kSynReceived) {
    state_ = State::kConnected;
  }
  bool connected_now = false;
  if (h.type == PacketType::kState && state_ == State::kSynSent) {
    state_ = State::kConnected;
    connected_now = true;
  } else if (fin_sent_ && cur_window_packets_ == acks) {
    fin_sent_acked_ = true;
  }
  if (SeqLess(fast_resend_seq_nr_, static_cast<uint16_t>(h.ack_nr + 1))) {
    fast_resend_seq_nr_ = static_cast<uint16_t>(h.ack_nr + 1);
  }
  for (int i = 0; i < acks; ++i) {
    const auto seq = static_cast<uint16_t>(seq_nr_ - cur_window_packets_);
    OutgoingPacket* p = Outgoing(seq);
    if (p != nullptr && p->transmissions == 0) break;  // not sent yet
    AckPacket(seq);
    --cur_window_packets_;
  }
  // Packets a selective ack already took off the front.
  while (cur_window_packets_ > 0 &&
         Outgoing(static_cast<uint16_t>(seq_nr_ - cur_window_packets_)) == nullptr) {
    --cur_window_packets_;
  }
  if (fast_timeout_) {
    // After a timeout, each ack resends the oldest packet once more, until it is acked.
    const auto oldest = static_cast<uint16_t>(seq_nr_ - cur_window_packets_);
    if (oldest != fast_resend_seq_nr_) {
      fast_timeout_ = false;
    } else if (OutgoingPacket* p = Outgoing(oldest); p != nullptr && p->transmissions > 0) {
      ++fast_resend_seq_nr_;
      SendPacket(*p);
    }
  }
  if (packet.has_selective_ack) SelectiveAck(sack_base, packet.selective_ack);

  if (connected_now && callbacks_.on_connect) callbacks_.on_connect();
  if (state_ == State::kClosed) return;
  Flush();
  if (want_writable_ && state_ == State::kConnected && !fin_requested_ &&
      unacknowledged_bytes() < options_.send_buffer) {
    want_writable_ = false;
    if (callbacks_.on_writable) callbacks_.on_writable();
    if (state_ == State::kClosed) return;
  }

  if (h.type != PacketType::kState && state_ == State::kConnected) {
    if (h.type == PacketType::kFin && !got_fin_) {
      got_fin_ = true;
      eof_pkt_ = h.seq_nr;
    }
    if (ahead == 0) {
      Deliver(packet.payload);
      ++ack_nr_;
      // What waited in the reorder buffer behind it.
      for (;;) {
        if (!got_fin_reached_ && got_fin_ && eof_pkt_ == ack_nr_) {
          got_fin_reached_ = true;
          for (auto& slot : reorder_) slot.reset();  // nothing counts past the FIN
          reorder_count_ = 0;
          reorder_bytes_ = 0;
          if (callbacks_.on_end) callbacks_.on_end();
          if (state_ == State::kClosed) return;
          break;
        }
        if (reorder_count_ == 0) break;
        auto& slot = reorder_[static_cast<uint16_t>(ack_nr_ + 1) & kRingMask];
        if (!slot) break;
        const Bytes data = std::move(*slot);
        slot.reset();
        --reorder_count_;
        reorder_bytes_ -= data.size();
        Deliver(data);
        ++ack_nr_;
        if (state_ == State::kClosed) return;
      }
      SendAck();
    } else {
      auto& slot = reorder_[h.seq_nr & kRingMask];
      // Past the FIN, already held, or more than the receive buffer: dropped.
      const bool past_fin = got_fin_ && SeqLess(eof_pkt_, h.seq_nr);
      if (!past_fin && !slot && reorder_bytes_ + packet.payload.size() <= options_.receive_buffer) {
        slot = ToBytes(packet.payload);
        ++reorder_count_;
        reorder_bytes_ += packet.payload.size();
        stats_.max_reorder_packets = std::max<size_t>(stats_.max_reorder_packets, reorder_count_);
      }
      SendAck();
    }
  }
  MaybeFinishGracefully();
  if (state_ != State::kClosed) ArmTimer();
}

void Connection::OnReset() {
  if (state_ == State::kClosed || state_ == State::kIdle) return;
  if (close_requested_ || (fin_sent_ && got_fin_reached_)) {
    // Both sides had finished; the peer already let go.
    Finish(Status::Ok());
  } else if (state_ == State::kSynSent) {
    Finish(Status::IOError("utp: connection refused (RESET)"));
  } else {
    Finish(Status::IOError("utp: connection reset by peer"));
  }
}

void Connection::MaybeFinishGracefully() {
  if (state_ != State::kClosed && fin_sent_acked_ && (got_fin_reached_ || close_requested_)) {
    Finish(Status::Ok());
  }
}

void Connection::Finish(const Status& status) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  timer_.Cancel();
  outgoing_.assign(outgoing_.size(), std::nullopt);
  reorder_.assign(reorder_.size(), std::nullopt);
  pending_ = Bytes();
  pending_offset_ = 0;
  cur_window_packets_ = 0;
  cur_window_ = 0;
  bytes_in_packets_ = 0;
  reorder_count_ = 0;
  reorder_bytes_ = 0;
  if (callbacks_.on_close) callbacks_.on_close(status);
  if (closed_hook_) closed_hook_();
}

size_t Connection::Write(ByteView bytes) {
  if (state_ == State::kClosed || state_ == State::kIdle || fin_requested_) return 0;
  const size_t used = unacknowledged_bytes();
  const size_t room = options_.send_buffer > used ? options_.send_buffer - used : 0;
  const size_t n = std::min(room, bytes.size());
  if (n < bytes.size()) want_writable_ = true;
  if (n == 0) return 0;
  if (pending_offset_ > 0 && pending_offset_ >= pending_.size() / 2) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(pending_offset_));
    pending_offset_ = 0;
  }
  pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + static_cast<long>(n));
  Flush();
  ArmTimer();
  return n;
}

void Connection::End() {
  if (state_ == State::kClosed || state_ == State::kIdle || fin_requested_) return;
  fin_requested_ = true;
  Flush();
  ArmTimer();
}

void Connection::Close() {
  if (state_ == State::kClosed || state_ == State::kIdle) return;
  if (state_ == State::kSynSent) {
    Finish(Status::Cancelled("utp: closed before the connection was accepted"));
    return;
  }
  close_requested_ = true;
  End();
  MaybeFinishGracefully();
}

void Connection::Abort() {
  if (state_ == State::kClosed) return;
  if (state_ != State::kIdle) {
    PacketHeader h;
    h.type = PacketType::kReset;
    h.connection_id = send_id_;
    h.seq_nr = seq_nr_;
    h.ack_nr = ack_nr_;
    Bytes wire = EncodePacket(h, {});
    SendRaw(wire);
  }
  Finish(Status::Cancelled("utp: connection aborted"));
}

void Connection::CheckTimeouts() {
  if (state_ == State::kClosed) return;
  const uint64_t now = NowMs();
  Flush();
  if (options_.idle_timeout.count() > 0 &&
      now - last_got_packet_ms_ >=
          static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle_timeout)
                  .count())) {
    Finish(Status::Timeout("utp: nothing from the peer for " +
                           std::to_string(now - last_got_packet_ms_) + " ms"));
    return;
  }
  if (state_ == State::kSynReceived && now - last_got_packet_ms_ >= kSynReceivedTimeoutMs) {
    Finish(Status::Timeout("utp: the initiator sent no data after its SYN"));
    return;
  }
  if (max_window_user_ == 0 && now >= zerowindow_time_ms_) max_window_user_ = options_.packet_size;
  if (rto_timeout_ms_ > 0 && now >= rto_timeout_ms_) {
    if (retransmit_count_ >= 4 || (state_ == State::kSynSent && retransmit_count_ >= 2)) {
      Finish(Status::Timeout(state_ == State::kSynSent
                                 ? "utp: no answer to SYN"
                                 : "utp: the peer stopped acknowledging (" +
                                       std::to_string(retransmit_count_) + " resends)"));
      return;
    }
    const uint32_t new_timeout = retransmit_timeout_ms_ * 2;
    retransmit_timeout_ms_ = new_timeout;
    rto_timeout_ms_ = now + new_timeout;
    duplicate_ack_ = 0;
    if (cur_window_packets_ == 0 && max_window_ > options_.packet_size) {
      max_window_ = std::max(max_window_ * 2 / 3, options_.packet_size);
    } else {
      max_window_ = options_.packet_size;
      slow_start_ = true;
    }
    // Everything in flight is taken as lost; the oldest goes again now, the rest as the window
    // (one packet) grows.
    for (uint16_t seq = seq_nr_ - cur_window_packets_; seq != seq_nr_; ++seq) {
      OutgoingPacket* p = Outgoing(seq);
      if (p == nullptr || p->transmissions == 0 || p->need_resend) continue;
      p->need_resend = true;
      cur_window_ -= p->payload;
    }
    if (cur_window_packets_ > 0) {
      ++retransmit_count_;
      ++stats_.timeouts;
      fast_timeout_ = true;
      timeout_seq_nr_ = seq_nr_;
      if (OutgoingPacket* p = Outgoing(static_cast<uint16_t>(seq_nr_ - cur_window_packets_))) {
        SendPacket(*p);
      }
    }
  }
  uint64_t probe_due_us = 0;
  bool lost = false;
  if (OutgoingPacket* head = ProbeCandidate(probe_due_us, lost);
      head != nullptr && NowUs() >= probe_due_us) {
    // The oldest packet is overdue (see ProbeCandidate): send it again now rather than after
    // the RTO (at least 1 s), which stalls the whole connection behind it. Ours (as TCP's
    // tail loss probe and RACK); libutp waits for the timeout. A loss halves the window as
    // any loss does; a tail's probe does not (it may only be a slow ack).
    const auto seq = static_cast<uint16_t>(seq_nr_ - cur_window_packets_);
    ++stats_.fast_resends;
    SendPacket(*head);
    if (SeqLess(fast_resend_seq_nr_, static_cast<uint16_t>(seq + 1))) {
      fast_resend_seq_nr_ = static_cast<uint16_t>(seq + 1);
    }
    if (lost) MaybeDecayWindow();
  }
  if (state_ == State::kConnected && !fin_sent_ && now - last_sent_packet_ms_ >= kKeepAliveMs) {
    SendKeepAlive();
  }
  ArmTimer();
}

void Connection::ArmTimer() {
  if (state_ == State::kClosed || state_ == State::kIdle) return;
  const uint64_t now = NowMs();
  uint64_t due = UINT64_MAX;
  if (rto_timeout_ms_ > 0) due = std::min(due, rto_timeout_ms_);
  if (state_ == State::kConnected && !fin_sent_)
    due = std::min(due, last_sent_packet_ms_ + kKeepAliveMs);
  if (state_ == State::kSynReceived)
    due = std::min(due, last_got_packet_ms_ + kSynReceivedTimeoutMs);
  if (max_window_user_ == 0) due = std::min(due, zerowindow_time_ms_);
  uint64_t probe_due_us = 0;
  bool lost = false;
  if (ProbeCandidate(probe_due_us, lost) != nullptr) {
    due = std::min(due, (probe_due_us + 999) / 1000);
  }
  if (options_.idle_timeout.count() > 0) {
    due = std::min(
        due, last_got_packet_ms_ +
                 static_cast<uint64_t>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle_timeout)
                         .count()));
  }
  if (due == UINT64_MAX) {
    timer_.Cancel();
    return;
  }
  const uint64_t delay = due > now ? due - now : 0;
  timer_.Start(std::chrono::milliseconds(delay), [this] { CheckTimeouts(); });
}

}  // namespace hyper::utp
