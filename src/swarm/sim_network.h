// Test support: many DhtNodes on one VirtualClock, joined by an in-memory network that
// delivers each datagram after a fixed latency (on virtual time), drops what goes to a dead
// or unknown address, and counts datagrams. Header only; used by the swarm's tests.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hyper/runtime/virtual_clock.h"
#include "hyper/swarm/dht_node.h"
#include "hyper/swarm/peer_store.h"
#include "hyper/swarm/peers.h"

namespace hyper::swarm::testing {

class SimNetwork {
 public:
  struct Host {
    UdpEndpoint address;
    std::unique_ptr<PeerStore> store;
    std::unique_ptr<DhtNode> node;
    bool dead = false;
  };

  explicit SimNetwork(runtime::Duration latency = std::chrono::milliseconds(10))
      : latency_(latency) {}
  ~SimNetwork() {
    for (auto& h : hosts_) h->node->Close();
  }

  runtime::VirtualClock& clock() { return clock_; }

  // A node at 10.x.y.z:port (distinct per host), serving `peers`.
  Host& Add(DhtNodeOptions options) {
    auto h = std::make_unique<Host>();
    const size_t n = hosts_.size() + 1;
    h->address = {"10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) +
                      "." + std::to_string(n & 255),
                  static_cast<uint16_t>(20000 + n % 1000)};
    Host* raw = h.get();
    h->store = std::make_unique<PeerStore>(clock_);
    h->node = std::make_unique<DhtNode>(
        clock_, [this, raw](const UdpEndpoint& to, ByteView d) { Deliver(raw, to, d); },
        std::move(options));
    ServePeers(*h->node, *h->store);
    by_address_[h->address.ToString()] = raw;
    hosts_.push_back(std::move(h));
    return *raw;
  }

  // Raw datagrams into the network from an address that is not a node (a hostile sender).
  void Inject(const UdpEndpoint& from, const UdpEndpoint& to, ByteView d) {
    auto it = by_address_.find(to.ToString());
    if (it == by_address_.end()) return;
    it->second->node->OnDatagram(from, d);
  }

  // Advances virtual time in steps until `done` is true or `limit` has passed.
  template <typename Pred>
  bool RunUntil(Pred done, runtime::Duration limit = std::chrono::seconds(60)) {
    const auto end = clock_.Now() + limit;
    while (!done()) {
      if (clock_.Now() >= end) return false;
      clock_.Advance(std::chrono::milliseconds(5));
    }
    return true;
  }

  std::vector<std::unique_ptr<Host>>& hosts() { return hosts_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t sent() const { return sent_; }
  // Bytes sent to each address, and the last datagram sent to it (for amplification checks).
  std::map<std::string, uint64_t>& bytes_to() { return bytes_to_; }
  std::map<std::string, Bytes>& last_to() { return last_to_; }

 private:
  void Deliver(Host* from, const UdpEndpoint& to, ByteView d) {
    ++sent_;
    bytes_to_[to.ToString()] += d.size();
    last_to_[to.ToString()] = Bytes(d.begin(), d.end());
    if (from->dead) return;
    auto copy = std::make_shared<Bytes>(d.begin(), d.end());
    UdpEndpoint src = from->address;
    std::string key = to.ToString();
    clock_.Schedule(latency_, [this, copy, src, key] {
      auto it = by_address_.find(key);
      if (it == by_address_.end() || it->second->dead) return;
      ++delivered_;
      it->second->node->OnDatagram(src, *copy);
    });
  }

  runtime::VirtualClock clock_;
  runtime::Duration latency_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::map<std::string, Host*> by_address_;
  uint64_t delivered_ = 0;
  uint64_t sent_ = 0;
  std::map<std::string, uint64_t> bytes_to_;
  std::map<std::string, Bytes> last_to_;
};

}  // namespace hyper::swarm::testing
