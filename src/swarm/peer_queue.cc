#include "hyper/swarm/peer_queue.h"

#include <algorithm>

#include "hyper/swarm/compact_address.h"

namespace hyper::swarm {

bool Dialable(const runtime::UdpEndpoint& peer) {
  if (peer.port == 0) return false;
  auto ip = ParseIpv4(peer.host);
  if (!ip) return false;
  const uint8_t first = (*ip)[0];
  if (first == 0) return false;    // "this network"
  if (first >= 224) return false;  // multicast, reserved, broadcast
  return true;
}

PeerQueue::PeerQueue(PeerQueueOptions options) : options_(std::move(options)) {
  if (options_.backoff.empty()) options_.backoff.push_back(std::chrono::seconds(1));
}

bool PeerQueue::Add(const runtime::UdpEndpoint& peer, bool local, runtime::TimePoint now) {
  auto it = peers_.find(Key(peer));
  if (it == peers_.end()) {
    if (peers_.size() >= options_.max_known) {
      // Make room by forgetting peers given up on, the only ones not worth keeping.
      for (auto i = peers_.begin(); i != peers_.end();) {
        i = i->second.state == State::kGivenUp ? peers_.erase(i) : std::next(i);
      }
      if (peers_.size() >= options_.max_known) return false;
    }
    Entry e;
    e.address = peer;
    e.local = local;
    e.ready = now;
    peers_.emplace(Key(peer), std::move(e));
    return true;
  }
  Entry& e = it->second;
  e.local = e.local || local;
  if (e.state == State::kGivenUp && now >= e.ready) {
    e.state = State::kWaiting;
    e.failures = 0;
    e.ready = now;
    return true;
  }
  return false;
}

std::optional<runtime::UdpEndpoint> PeerQueue::Next(runtime::TimePoint now) {
  Entry* best = nullptr;
  for (auto& [key, e] : peers_) {
    if (e.state != State::kWaiting || e.ready > now) continue;
    if (best == nullptr || (e.local && !best->local) ||
        (e.local == best->local && e.failures < best->failures)) {
      best = &e;
    }
  }
  if (best == nullptr) return std::nullopt;
  best->state = State::kDialling;
  return best->address;
}

std::optional<runtime::TimePoint> PeerQueue::NextReady() const {
  std::optional<runtime::TimePoint> out;
  for (const auto& [key, e] : peers_) {
    if (e.state != State::kWaiting) continue;
    if (!out || e.ready < *out) out = e.ready;
  }
  return out;
}

void PeerQueue::Wait(Entry& e, runtime::Duration delay, runtime::TimePoint now) {
  e.state = State::kWaiting;
  e.ready = now + delay;
}

void PeerQueue::Done(const runtime::UdpEndpoint& peer, bool connected, runtime::TimePoint now) {
  auto it = peers_.find(Key(peer));
  if (it == peers_.end()) return;
  Entry& e = it->second;
  if (e.state == State::kBanned) return;
  if (connected) {
    // It was there: dial it again soon (the reference requeues a closed peer).
    e.failures = 0;
    Wait(e, options_.backoff.front(), now);
    return;
  }
  if (e.failures >= options_.max_retries) {
    e.state = State::kGivenUp;
    e.ready = now + options_.forget_after;
    return;
  }
  Wait(e, options_.backoff[std::min(e.failures, options_.backoff.size() - 1)], now);
  e.failures++;
}

void PeerQueue::Connected(const runtime::UdpEndpoint& peer) {
  auto it = peers_.find(Key(peer));
  if (it != peers_.end() && it->second.state != State::kBanned) {
    it->second.state = State::kConnected;
  }
}

void PeerQueue::Ban(const runtime::UdpEndpoint& peer) {
  auto it = peers_.find(Key(peer));
  if (it == peers_.end()) {
    if (peers_.size() >= options_.max_known) return;
    it = peers_.emplace(Key(peer), Entry{peer}).first;
  }
  it->second.state = State::kBanned;
}

bool PeerQueue::banned(const runtime::UdpEndpoint& peer) const {
  auto it = peers_.find(Key(peer));
  return it != peers_.end() && it->second.state == State::kBanned;
}

size_t PeerQueue::waiting() const {
  return static_cast<size_t>(std::count_if(peers_.begin(), peers_.end(), [](const auto& kv) {
    return kv.second.state == State::kWaiting;
  }));
}

}  // namespace hyper::swarm
