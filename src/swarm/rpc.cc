#include "hyper/swarm/rpc.h"

#include "hyper/crypto/crypto.h"

namespace hyper::swarm {

Rpc::Rpc(runtime::Clock& clock, Send send, RpcTiming timing)
    : clock_(clock), send_(std::move(send)), timing_(timing), rotate_timer_(clock) {
  uint16_t start = 0;
  crypto::RandomBytes(MutableByteView(reinterpret_cast<uint8_t*>(&start), sizeof(start)));
  next_rid_ = start;
  for (auto& s : secrets_) crypto::RandomBytes(s);
  Rotate();  // arms the rotation timer; the first secrets above stay random
}

Rpc::~Rpc() { Close(); }

void Rpc::Rotate() {
  rotate_timer_.Start(timing_.rotate_secret, [this] {
    secrets_[1] = secrets_[0];
    crypto::RandomBytes(secrets_[0]);
    Rotate();
  });
}

Bytes Rpc::Token(const std::string& host) const {
  Bytes out(32);
  crypto::Blake2b(out, {ByteView(secrets_[0]), AsBytes(host)});
  return out;
}

bool Rpc::CheckToken(ByteView token, const std::string& host) const {
  for (const auto& secret : secrets_) {
    std::array<uint8_t, 32> expected{};
    crypto::Blake2b(expected, {ByteView(secret), AsBytes(host)});
    if (token.size() == expected.size() &&
        std::equal(token.begin(), token.end(), expected.begin())) {
      return true;
    }
  }
  return false;
}

void Rpc::SendDatagram(const UdpEndpoint& to, ByteView d) {
  if (closed_) return;
  ++sent_datagrams_;
  send_(to, d);
}

void Rpc::Request(Message request, const RpcPeer& peer, Done done) {
  // Failures are called back later, never inline: the caller may be iterating its state.
  if (closed_) {
    clock_.Schedule(runtime::Duration::zero(), [done = std::move(done), to = peer.address] {
      done(Status::Cancelled("DHT node closed"), to);
    });
    return;
  }
  Pending p{std::move(request), peer, std::move(done)};
  if (requests_.size() >= timing_.max_inflight || !queue_.empty()) {
    if (queue_.size() >= timing_.max_queued) {
      clock_.Schedule(runtime::Duration::zero(), [done = std::move(p.done), to = peer.address] {
        done(Status::Busy("too many DHT requests waiting"), to);
      });
      return;
    }
    queue_.push_back(std::move(p));
    return;
  }
  StartRequest(std::move(p));
}

void Rpc::StartRequest(Pending p) {
  // A free 16-bit id (at most max_inflight are taken, far fewer than 65536).
  while (requests_.count(next_rid_) != 0) ++next_rid_;
  const uint16_t rid = next_rid_++;
  Message& m = p.message;
  m.rid = rid;
  m.version = kWireVersion;
  if (id_) {
    m.id = Bytes(id_->begin(), id_->end());
  } else {
    m.id.reset();
  }
  auto to = EncodePeer(p.peer.address);
  if (to.ok()) m.to = std::move(*to);
  InFlight f;
  f.datagram = EncodeMessage(m);
  if (m.command != "_ping" && m.command != "_holepunch" && f.datagram.size() + 3 < kRequestPadTo) {
    // Padded so that the answer (at most 3x the request) can hold 20 closer nodes and 128 peers.
    m.padding = Bytes(kRequestPadTo - f.datagram.size() - 3);
    f.datagram = EncodeMessage(m);
  }
  f.peer = p.peer;
  f.done = std::move(p.done);
  f.sends = 1;
  f.deadline = clock_.Now() + timing_.timeout;
  f.timer = std::make_unique<runtime::Timer>(clock_);
  f.timer->Start(timing_.resend_after, [this, rid] { OnTimer(rid); });
  auto [it, inserted] = requests_.emplace(rid, std::move(f));
  SendDatagram(it->second.peer.address, it->second.datagram);
}

void Rpc::OnTimer(uint16_t rid) {
  auto it = requests_.find(rid);
  if (it == requests_.end()) return;
  InFlight& f = it->second;
  const auto now = clock_.Now();
  if (f.sends < timing_.sends && now < f.deadline) {
    ++f.sends;
    SendDatagram(f.peer.address, f.datagram);
    const auto next = std::min(timing_.resend_after, f.deadline - now);
    f.timer->Start(next, [this, rid] { OnTimer(rid); });
    return;
  }
  if (now < f.deadline) {
    f.timer->Start(f.deadline - now, [this, rid] { OnTimer(rid); });
    return;
  }
  const UdpEndpoint to = f.peer.address;
  Finish(rid, Status::Timeout("DHT request to " + to.ToString() + " timed out"), to);
}

void Rpc::Finish(uint16_t rid, Result<Message> result, const UdpEndpoint& from) {
  auto it = requests_.find(rid);
  if (it == requests_.end()) return;
  Done done = std::move(it->second.done);
  requests_.erase(it);
  // Start what waits before calling back, so that a callback that asks again queues behind it.
  while (!closed_ && !queue_.empty() && requests_.size() < timing_.max_inflight) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    StartRequest(std::move(p));
  }
  done(std::move(result), from);
}

bool Rpc::OnResponse(const Message& response, const UdpEndpoint& from,
                     std::optional<NodeId>* bad_node) {
  if (response.rid > 0xffff) return false;
  const auto rid = static_cast<uint16_t>(response.rid);
  auto it = requests_.find(rid);
  if (it == requests_.end() || !(it->second.peer.address == from)) return false;
  const auto& expected = it->second.peer.id;
  if (bad_node && expected && (!response.id || ToNodeId(*response.id) != expected)) {
    *bad_node = expected;
  }
  Finish(rid, response, from);
  return true;
}

void Rpc::Respond(const Message& request, const UdpEndpoint& peer, std::optional<Bytes> value,
                  std::optional<Bytes> closer_nodes, std::optional<std::string> error) {
  Message m;
  m.version = kWireVersion;
  m.type = MessageType::kResponse;
  m.rid = request.rid;
  auto to = EncodePeer(peer);
  if (to.ok()) m.to = std::move(*to);
  if (id_) m.id = Bytes(id_->begin(), id_->end());
  m.closer_nodes = std::move(closer_nodes);
  if (error) {
    m.error = std::move(error);
  } else {
    m.roundtrip_token = Token(peer.host);
  }
  m.value = std::move(value);
  const Bytes d = EncodeMessage(m);
  SendDatagram(peer, d);
}

void Rpc::SendRaw(const UdpEndpoint& to, const Message& m) {
  const Bytes d = EncodeMessage(m);
  SendDatagram(to, d);
}

void Rpc::Close() {
  if (closed_) return;
  closed_ = true;
  rotate_timer_.Cancel();
  std::deque<Pending> queued;
  queued.swap(queue_);
  for (auto& p : queued) p.done(Status::Cancelled("DHT node closed"), p.peer.address);
  while (!requests_.empty()) {
    auto it = requests_.begin();
    const UdpEndpoint to = it->second.peer.address;
    Finish(it->first, Status::Cancelled("DHT node closed"), to);
  }
}

}  // namespace hyper::swarm
