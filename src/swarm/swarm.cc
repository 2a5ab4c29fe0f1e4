#include "hyper/swarm/swarm.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "hyper/runtime/runtime.h"
#include "hyper/runtime/timer.h"
#include "hyper/swarm/lan_discovery.h"
#include "hyper/swarm/peer_queue.h"
#include "hyper/swarm/peers.h"
#include "hyper/swarm/race_sockets.h"
#include "hyper/swarm/udp_dht.h"
#include "hyper/utp/socket_factory.h"

namespace hyper::swarm {

using namespace std::chrono_literals;

namespace {

constexpr runtime::Duration kFirstLookupDelay = 1s;
constexpr runtime::Duration kRefresh = 5min;
constexpr std::chrono::milliseconds kUnannounceWait = 1000ms;
// Distinct addresses remembered for SwarmStats::peers_found.
constexpr size_t kMaxCounted = 65536;

}  // namespace

struct Swarm::Impl : std::enable_shared_from_this<Swarm::Impl> {
  Impl(protocol::Replicator& replicator, SwarmOptions o, runtime::EventLoop& loop,
       runtime::Clock& clock)
      : rep(replicator), options(std::move(o)), loop(loop), clock(clock), drain_timer(clock) {}

  struct Topic {
    explicit Topic(runtime::Clock& c) : announce_timer(c), lookup_timer(c) {}
    NodeId key{};
    JoinOptions join;
    std::shared_ptr<Query> announce_query;
    std::shared_ptr<Query> lookup_query;
    runtime::Timer announce_timer;
    runtime::Timer lookup_timer;
    runtime::Duration lookup_delay = kFirstLookupDelay;
    bool announced = false;
  };

  protocol::Replicator& rep;
  SwarmOptions options;
  runtime::EventLoop& loop;
  runtime::Clock& clock;
  // loop-only below.
  std::unique_ptr<UdpDht> dht;
  // uTP connections on the DHT's socket, as the Replicator's sockets (accepted ones only).
  std::unique_ptr<utp::UtpSocketFactory> utp_sockets;
  // TCP (the Replicator's sockets) raced against uTP on the DHT's socket, for dialling.
  std::unique_ptr<RaceSocketFactory> dial_sockets;
  std::unique_ptr<LanDiscovery> lan;
  uint16_t port = 0;
  std::map<NodeId, std::unique_ptr<Topic>> topics;
  PeerQueue queue;
  runtime::Timer drain_timer;
  std::set<std::string> found;
  SwarmStats counters;
  bool closed = false;

  void Log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  bool HasDht() const { return dht != nullptr && !options.bootstrap.empty(); }

  // Our own announce comes back in lookups: skip it (the address of another interface of ours
  // is caught by the Noise key once connected, see ReplicationOptions::deduplicate).
  bool IsSelf(const UdpEndpoint& peer) const {
    if (peer.port != port) return false;
    if (options.host == "0.0.0.0") return peer.host.rfind("127.", 0) == 0;
    return peer.host == options.host;
  }

  void OnFound(const PeersFound& f) {
    if (closed) return;
    const auto now = clock.Now();
    auto add = [&](const UdpEndpoint& p, bool local) {
      if (IsSelf(p) || !Dialable(p)) return;
      // Counted up to a bound: a DHT node may answer any number of addresses over time.
      if (found.size() < kMaxCounted && found.insert(p.ToString()).second) {
        counters.peers_found = found.size();
      }
      (void)queue.Add(p, local, now);
    };
    for (const auto& p : f.local_peers) add(p, true);
    for (const auto& p : f.peers) add(p, false);
    Drain();
  }

  void OnLanPeer(const UdpEndpoint& p) {
    if (closed) return;
    counters.lan_peers_found++;
    PeersFound f;
    f.local_peers.push_back(p);
    OnFound(f);
    rep.Wake();
  }

  void JoinLan(const NodeId& key, const JoinOptions& join) {
    if (!lan) return;
    if (join.announce && options.listen) {
      Status s = lan->Announce(key, port);
      if (!s.ok()) Log("LAN announce: " + s.ToString());
    }
    if (join.lookup) {
      std::weak_ptr<Impl> weak = weak_from_this();
      Status s = lan->Lookup(key, [weak](const UdpEndpoint& p) {
        if (auto self = weak.lock()) self->OnLanPeer(p);
      });
      if (!s.ok()) Log("LAN lookup: " + s.ToString());
    }
  }

  void Drain() {
    if (closed) return;
    const auto now = clock.Now();
    while (counters.dialling + counters.dialled_connected < options.max_dialled) {
      auto next = queue.Next(now);
      if (!next) break;
      Dial(*next);
    }
    if (auto ready = queue.NextReady(); ready && *ready > now) {
      std::weak_ptr<Impl> weak = weak_from_this();
      drain_timer.Start(*ready - now, [weak] {
        if (auto self = weak.lock()) self->Drain();
      });
    }
  }

  void Dial(const UdpEndpoint& peer) {
    counters.dialling++;
    std::weak_ptr<Impl> weak = weak_from_this();
    protocol::DialCallbacks cb;
    cb.connected = [weak, peer](const Status& s) {
      if (auto self = weak.lock()) self->OnDialled(peer, s);
    };
    cb.closed = [weak, peer](const Status& s) {
      if (auto self = weak.lock()) self->OnClosed(peer, s);
    };
    if (dial_sockets) {
      rep.Dial(*dial_sockets, peer.host, peer.port, options.connect_timeout, std::move(cb));
    } else {
      rep.Dial(peer.host, peer.port, options.connect_timeout, std::move(cb));
    }
  }

  void OnDialled(const UdpEndpoint& peer, const Status& s) {
    counters.dialling--;
    if (s.ok()) {
      counters.dialled_connected++;
      queue.Connected(peer);
    } else {
      counters.dials_failed++;
      queue.Done(peer, false, clock.Now());
    }
    Drain();
    rep.Wake();
  }

  void OnClosed(const UdpEndpoint& peer, const Status& s) {
    counters.dialled_connected--;
    if (s.code() == Code::kExists) {
      // Ourselves, or a peer we already have a connection with: never again.
      queue.Ban(peer);
      Log("not dialling " + peer.ToString() + " again: " + s.message());
    } else if (s.code() == Code::kCorruption || s.code() == Code::kPermissionDenied) {
      // It broke the protocol (bad frames, data that does not verify, a wrong capability).
      queue.Ban(peer);
      counters.peers_banned++;
      Log("banned peer " + peer.ToString() + ": " + s.ToString());
    } else {
      // A clean end is dialled again soon; a failure backs off.
      queue.Done(peer, s.ok(), clock.Now());
    }
    Drain();
  }

  void StartAnnounce(Topic& t) {
    if (closed || !HasDht()) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    const NodeId key = t.key;
    swarm::OnPeers on_peers;
    if (t.join.lookup) {
      on_peers = [weak](const PeersFound& f) {
        if (auto self = weak.lock()) self->OnFound(f);
      };
    }
    t.announce_query = Announce(dht->node(), key, PeersOptions{}, std::move(on_peers),
                                [weak, key](const Status& s, const QueryStats&) {
                                  auto self = weak.lock();
                                  if (!self || self->closed) return;
                                  self->OnAnnounced(key, s);
                                });
  }

  void OnAnnounced(const NodeId& key, const Status& s) {
    auto it = topics.find(key);
    if (it == topics.end()) return;
    Topic& t = *it->second;
    t.announce_query.reset();
    counters.announces_done++;
    rep.Wake();
    if (t.join.lookup) counters.lookups_done++;
    if (s.ok()) {
      t.announced = true;
    } else {
      Log("announcing " + ToHex(ByteView(key.data(), key.size())) + ": " + s.ToString());
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    // Announce again before the records expire; sooner when it failed.
    t.announce_timer.Start(s.ok() ? kRefresh : t.lookup_delay, [weak, key] {
      auto self = weak.lock();
      if (!self) return;
      if (auto i = self->topics.find(key); i != self->topics.end()) self->StartAnnounce(*i->second);
    });
  }

  void StartLookup(Topic& t) {
    if (closed || !HasDht() || t.lookup_query) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    const NodeId key = t.key;
    t.lookup_query = Lookup(
        dht->node(), key, PeersOptions{},
        [weak](const PeersFound& f) {
          if (auto self = weak.lock()) self->OnFound(f);
        },
        [weak, key](const Status&, const QueryStats&) {
          auto self = weak.lock();
          if (!self || self->closed) return;
          self->OnLookedUp(key);
        });
  }

  void ScheduleLookup(Topic& t) {
    std::weak_ptr<Impl> weak = weak_from_this();
    const NodeId key = t.key;
    t.lookup_timer.Start(t.lookup_delay, [weak, key] {
      auto self = weak.lock();
      if (!self) return;
      if (auto i = self->topics.find(key); i != self->topics.end()) self->StartLookup(*i->second);
    });
    t.lookup_delay = std::min<runtime::Duration>(t.lookup_delay * 2, kRefresh);
  }

  void OnLookedUp(const NodeId& key) {
    auto it = topics.find(key);
    if (it == topics.end()) return;
    Topic& t = *it->second;
    t.lookup_query.reset();
    counters.lookups_done++;
    ScheduleLookup(t);
    rep.Wake();  // whoever waits for peers looks again
  }

  void Join(const NodeId& key, const JoinOptions& join) {
    if (closed) return;
    LeaveTopic(key);
    auto t = std::make_unique<Topic>(clock);
    t->key = key;
    t->join = join;
    Topic& ref = *t;
    topics[key] = std::move(t);
    counters.topics = topics.size();
    JoinLan(key, join);
    if (join.announce) {
      StartAnnounce(ref);
      if (join.lookup) ScheduleLookup(ref);  // the announce looks up too; then again soon
    } else if (join.lookup) {
      StartLookup(ref);
    }
  }

  // Stops a topic; returns the unannounce started for it, if it was announced.
  std::shared_ptr<Query> LeaveTopic(const NodeId& key, Query::OnDone on_done = nullptr) {
    auto it = topics.find(key);
    if (it == topics.end()) return nullptr;
    Topic& t = *it->second;
    if (lan) lan->Leave(key);
    t.announce_timer.Cancel();
    t.lookup_timer.Cancel();
    if (t.announce_query) t.announce_query->Cancel();
    if (t.lookup_query) t.lookup_query->Cancel();
    std::shared_ptr<Query> q;
    if ((t.announced || t.announce_query) && HasDht()) {
      q = Unannounce(dht->node(), key, PeersOptions{}, std::move(on_done));
    }
    topics.erase(it);
    counters.topics = topics.size();
    return q;
  }
};

Swarm::Swarm(std::shared_ptr<Impl> impl, std::string host, uint16_t port)
    : impl_(std::move(impl)), host_(std::move(host)), port_(port) {}

Result<std::unique_ptr<Swarm>> Swarm::Open(protocol::Replicator& replicator, SwarmOptions options) {
  runtime::Runtime& rt = runtime::Default();
  runtime::Clock& clock = options.clock != nullptr ? *options.clock : rt.clock();
  runtime::UdpSocketFactory& udp = options.udp != nullptr ? *options.udp : rt.udp();
  std::vector<uint16_t> ports;
  if (!options.port) {
    ports = {kPreferredPort, kPreferredPort + 1, kPreferredPort + 2, 0, 0, 0};
  } else if (*options.port == 0) {
    ports = {0, 0, 0, 0};  // the TCP port may be taken where the UDP one was free
  } else {
    ports = {*options.port};
  }
  auto impl = std::make_shared<Impl>(replicator, options, rt.loop(), clock);
  Status last;
  for (uint16_t p : ports) {
    UdpDhtOptions uo;
    uo.host = options.host;
    uo.port = p;
    uo.node.bootstrap = options.bootstrap;
    uo.node.ephemeral = true;
    uo.utp = options.utp;
    auto bound = rt.loop().Call([&]() -> Result<uint16_t> {
      ASSIGN_OR_RETURN(impl->dht, UdpDht::Open(udp, clock, uo));
      return impl->dht->local().port;
    });
    if (!bound.ok()) {
      last = bound.status().Annotate("UDP " + options.host + ":" + std::to_string(p));
      continue;
    }
    if (options.listen) {
      auto tcp = replicator.Listen(options.host, *bound);
      if (!tcp.ok()) {
        last = tcp.status().Annotate("TCP " + options.host + ":" + std::to_string(*bound));
        rt.loop().Call([&] { impl->dht.reset(); });
        continue;
      }
    }
    if (options.utp) {
      rt.loop().Call([&] {
        impl->utp_sockets =
            std::make_unique<utp::UtpSocketFactory>(rt.loop(), *impl->dht->utp(), *bound);
        impl->dial_sockets = std::make_unique<RaceSocketFactory>(replicator.sockets(), "tcp",
                                                                 *impl->utp_sockets, "utp");
      });
      if (options.listen) {
        auto utp = replicator.Listen(*impl->utp_sockets, options.host, *bound);
        if (!utp.ok()) return utp.status().Annotate("uTP " + options.host);
      }
    }
    rt.loop().Call([&] {
      impl->port = *bound;
      if (options.lan) {
        LanDiscoveryOptions lo;
        lo.interface_address = options.lan_interface;
        auto lan = LanDiscovery::Open(udp, clock, lo);
        if (lan.ok()) {
          impl->lan = std::move(*lan);
        } else {
          impl->Log("LAN discovery is off: " + lan.status().ToString());
        }
      }
      if (!impl->HasDht()) return;
      std::weak_ptr<Impl> weak = impl;
      impl->dht->node().Bootstrap([weak](const Status& s) {
        auto self = weak.lock();
        if (self && !s.ok()) self->Log("DHT bootstrap: " + s.ToString());
      });
    });
    return std::unique_ptr<Swarm>(new Swarm(impl, options.host, *bound));
  }
  return last;
}

Swarm::~Swarm() {
  Impl& d = *impl_;
  // Unannounce every announced topic, and wait a little for the DHT to hear it (a peer looking
  // us up later is then not sent to a dead address).
  struct Pending {
    size_t left = 0;
    std::promise<void> all_done;
  };
  auto pending = std::make_shared<Pending>();
  auto fut = pending->all_done.get_future();
  d.loop.Call([&] {
    d.drain_timer.Cancel();
    std::vector<NodeId> keys;
    for (const auto& [key, t] : d.topics) keys.push_back(key);
    std::vector<std::shared_ptr<Query>> started;
    for (const NodeId& key : keys) {
      auto q = d.LeaveTopic(key, [pending](const Status&, const QueryStats&) {
        if (--pending->left == 0) pending->all_done.set_value();
      });
      if (q) {
        pending->left++;
        started.push_back(std::move(q));
      }
    }
    d.closed = true;
    if (pending->left == 0) pending->all_done.set_value();
  });
  (void)fut.wait_for(kUnannounceWait);
  d.loop.Call([&] {
    d.lan.reset();
    d.dial_sockets.reset();
    d.utp_sockets.reset();  // its listener (the Replicator's) stops accepting
    d.dht.reset();
  });
}

void Swarm::Join(const NodeId& topic, JoinOptions options) {
  impl_->loop.Call([&] { impl_->Join(topic, options); });
}

void Swarm::Leave(const NodeId& topic) {
  impl_->loop.Call([&] { (void)impl_->LeaveTopic(topic); });
}

SwarmStats Swarm::stats() const {
  return impl_->loop.Call([&] {
    SwarmStats s = impl_->counters;
    s.dht_nodes = impl_->dht ? impl_->dht->node().table().size() : 0;
    s.lan = impl_->lan != nullptr;
    return s;
  });
}

}  // namespace hyper::swarm
