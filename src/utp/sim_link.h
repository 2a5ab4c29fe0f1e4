// Test support: two (or more) Multiplexers on one VirtualClock joined by a simulated network
// that delays each datagram (a fixed latency plus the queue of a bottleneck link of a given
// rate), and drops, duplicates and reorders datagrams at random with a seeded generator.
// Header only; used by the uTP tests.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "hyper/runtime/virtual_clock.h"
#include "hyper/utp/multiplexer.h"

namespace hyper::utp::testing {

struct LinkOptions {
  double loss = 0;       // probability a datagram is dropped
  double duplicate = 0;  // probability it is delivered twice
  double reorder = 0;    // probability it is held back by up to `reorder_delay`
  runtime::Duration latency = std::chrono::milliseconds(10);
  runtime::Duration reorder_delay = std::chrono::milliseconds(30);
  double bytes_per_second = 20e6;  // the bottleneck each sender's datagrams queue for
  uint32_t seed = 1;
};

class SimLink {
 public:
  explicit SimLink(LinkOptions options) : options_(options), rng_(options.seed) {}
  // The multiplexers go first (their connections send RESETs into the still-whole network).
  ~SimLink() {
    for (auto& [address, host] : hosts_) host.mux.reset();
  }
  SimLink(const SimLink&) = delete;
  SimLink& operator=(const SimLink&) = delete;

  runtime::VirtualClock& clock() { return clock_; }

  // A multiplexer at `address`; its random numbers come from the link's seeded generator
  // unless the options bring their own.
  Multiplexer& Add(const runtime::UdpEndpoint& address, MultiplexerOptions options = {}) {
    if (!options.random) options.random = [this] { return static_cast<uint32_t>(rng_()); };
    auto mux = std::make_unique<Multiplexer>(
        clock_,
        [this, address](const runtime::UdpEndpoint& to, ByteView d) { Send(address, to, d); },
        std::move(options));
    Multiplexer& ref = *mux;
    hosts_[address.ToString()] = Host{std::move(mux), false, clock_.Now()};
    return ref;
  }

  // A host that stops answering: nothing reaches it, nothing leaves it.
  void Kill(const runtime::UdpEndpoint& address) { hosts_.at(address.ToString()).dead = true; }

  // Advances virtual time in 10 ms steps until `done` or `limit`; false on the limit.
  template <typename Done>
  bool RunUntil(Done done, runtime::Duration limit) {
    const auto end = clock_.Now() + limit;
    while (!done()) {
      if (clock_.Now() >= end) return false;
      clock_.Advance(std::chrono::milliseconds(10));
    }
    return true;
  }

  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }
  runtime::Duration max_queue_delay() const { return max_queue_; }

 private:
  struct Host {
    std::unique_ptr<Multiplexer> mux;
    bool dead = false;
    runtime::TimePoint link_free;  // when this host's outgoing link has sent its queue
  };

  void Send(const runtime::UdpEndpoint& from, const runtime::UdpEndpoint& to, ByteView d) {
    ++sent_;
    Host& sender = hosts_.at(from.ToString());
    if (sender.dead || !sender.mux) return;
    // The bottleneck: the datagram leaves when the ones before it have.
    const auto now = clock_.Now();
    const auto start = std::max(now, sender.link_free);
    const auto serialise = std::chrono::duration_cast<runtime::Duration>(
        std::chrono::duration<double>(static_cast<double>(d.size()) / options_.bytes_per_second));
    sender.link_free = start + serialise;
    max_queue_ = std::max(max_queue_, sender.link_free - now);
    std::uniform_real_distribution<double> coin(0, 1);
    if (coin(rng_) < options_.loss) {
      ++dropped_;
      return;
    }
    auto delay = (sender.link_free - now) + options_.latency;
    if (coin(rng_) < options_.reorder) {
      delay += std::chrono::duration_cast<runtime::Duration>(options_.reorder_delay * coin(rng_));
    }
    const int copies = coin(rng_) < options_.duplicate ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      clock_.Schedule(delay + std::chrono::microseconds(i * 100),
                      [this, from, to, data = ToBytes(d)] {
                        auto it = hosts_.find(to.ToString());
                        if (it == hosts_.end() || it->second.dead || !it->second.mux) return;
                        it->second.mux->OnDatagram(from, data);
                      });
    }
  }

  LinkOptions options_;
  std::mt19937 rng_;
  runtime::VirtualClock clock_;
  std::map<std::string, Host> hosts_;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  runtime::Duration max_queue_{0};
};

}  // namespace hyper::utp::testing
