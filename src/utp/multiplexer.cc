#include "hyper/utp/multiplexer.h"

#include <algorithm>
#include <vector>

namespace hyper::utp {
namespace {

constexpr uint64_t kResetRecordMs = 10000;  // libutp's RST_INFO_TIMEOUT

uint64_t NowMs(const runtime::Clock& clock) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
          .count());
}

}  // namespace

Multiplexer::Multiplexer(runtime::Clock& clock, SendTo send_to, MultiplexerOptions options)
    : clock_(clock),
      send_to_(std::move(send_to)),
      options_(std::move(options)),
      rng_(std::random_device{}()),
      sweep_(clock) {}

Multiplexer::~Multiplexer() {
  sweep_.Cancel();
  // Copies: Abort calls the closed hook, which only arms the (cancelled) sweep.
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [key, connection] : connections_) open.push_back(connection);
  for (auto& connection : open) {
    connection->set_closed_hook(nullptr);
    connection->Abort();
  }
}

uint32_t Multiplexer::Random() { return options_.random ? options_.random() : rng_(); }

std::shared_ptr<Connection> Multiplexer::Find(const runtime::UdpEndpoint& from, uint16_t id) const {
  auto it = connections_.find(Key(from.host, from.port, id));
  return it == connections_.end() ? nullptr : it->second;
}

std::shared_ptr<Connection> Multiplexer::Add(const runtime::UdpEndpoint& peer,
                                             uint16_t receive_id) {
  auto connection = std::make_shared<Connection>(
      clock_, [this, peer](ByteView d) { send_to_(peer, d); }, options_.connection);
  connection->set_closed_hook(
      [this] { sweep_.Start(runtime::Duration::zero(), [this] { Sweep(); }); });
  connections_[Key(peer.host, peer.port, receive_id)] = connection;
  return connection;
}

void Multiplexer::Sweep() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->second->closed()) {
      it->second->set_closed_hook(nullptr);
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void Multiplexer::SendReset(const runtime::UdpEndpoint& to, uint16_t connection_id,
                            uint16_t seq_nr) {
  const uint64_t now = NowMs(clock_);
  while (!resets_.empty() && now - resets_.front().at_ms >= kResetRecordMs) resets_.pop_front();
  const Key key(to.host, to.port, connection_id);
  for (auto& r : resets_) {
    if (r.key == key && r.seq_nr == seq_nr) return;  // answered already
  }
  if (resets_.size() >= options_.max_reset_records) return;
  resets_.push_back({key, seq_nr, now});
  PacketHeader h;
  h.type = PacketType::kReset;
  h.connection_id = connection_id;
  h.ack_nr = seq_nr;
  h.seq_nr = static_cast<uint16_t>(Random());
  ++stats_.resets_sent;
  send_to_(to, EncodePacket(h, {}));
}

bool Multiplexer::OnDatagram(const runtime::UdpEndpoint& from, ByteView datagram) {
  if (!IsUtpDatagram(datagram)) return false;
  ++stats_.claimed;
  auto packet = DecodePacket(datagram);
  if (!packet.ok()) {
    ++stats_.malformed;
    return true;
  }
  const PacketHeader& h = packet->header;
  const uint16_t id = h.connection_id;
  if (h.type == PacketType::kReset) {
    // The id is our receive id, or our send id (receive id + 1 when we initiated, - 1 when we
    // accepted), as libutp checks.
    auto c = Find(from, id);
    if (!c) {
      c = Find(from, static_cast<uint16_t>(id + 1));
      if (c && c->send_id() != id) c = nullptr;
    }
    if (!c) {
      c = Find(from, static_cast<uint16_t>(id - 1));
      if (c && c->send_id() != id) c = nullptr;
    }
    if (c) c->OnReset();
    return true;
  }
  if (h.type != PacketType::kSyn) {
    if (auto c = Find(from, id)) {
      c->OnPacket(*packet);
    } else {
      SendReset(from, id, h.seq_nr);
    }
    return true;
  }
  // A SYN: again for a connection we accepted (our answer was lost), or a new one.
  if (auto c = Find(from, static_cast<uint16_t>(id + 1)); c && c->send_id() == id) {
    c->OnPacket(*packet);
    return true;
  }
  if (!accepted_ || connections_.size() >= options_.max_connections ||
      Find(from, static_cast<uint16_t>(id + 1))) {
    ++stats_.syns_refused;
    return true;
  }
  auto c = Add(from, static_cast<uint16_t>(id + 1));
  c->Accept(*packet, static_cast<uint16_t>(Random()));
  accepted_(c, from);
  return true;
}

Result<std::shared_ptr<Connection>> Multiplexer::Connect(const runtime::UdpEndpoint& to,
                                                         ConnectionCallbacks callbacks) {
  if (connections_.size() >= options_.max_connections) {
    return Status::Busy("utp: " + std::to_string(connections_.size()) + " connections open");
  }
  // A receive id free for this peer, whose send id (+1) is free too.
  for (int attempt = 0; attempt < 64; ++attempt) {
    const auto id = static_cast<uint16_t>(Random());
    if (Find(to, id) || Find(to, static_cast<uint16_t>(id + 1))) continue;
    auto c = Add(to, id);
    c->set_callbacks(std::move(callbacks));
    c->Connect(id, static_cast<uint16_t>(Random()));
    return c;
  }
  return Status::Busy("utp: no free connection id for " + to.ToString());
}

}  // namespace hyper::utp
