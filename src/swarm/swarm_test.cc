// The connection manager over real sockets on loopback: a persistent DHT node as the bootstrap,
// a seed that announces a feed's discovery key, and readers that only know the key.
#include "hyper/swarm/swarm.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "hyper/core/feed.h"
#include "hyper/runtime/runtime.h"
#include "hyper/storage/file.h"
#include "hyper/swarm/peers.h"
#include "hyper/swarm/udp_dht.h"
#include "hyper/utp/socket_factory.h"
#include "tests/support/memory_feed.h"

namespace hyper::swarm {
namespace {

using namespace std::chrono_literals;

// A persistent DHT node on 127.0.0.1, on the runtime's loop.
class Bootstrap {
 public:
  Bootstrap() {
    runtime::Runtime& rt = runtime::Default();
    UdpDhtOptions o;
    o.host = "127.0.0.1";
    o.node.ephemeral = false;
    dht_ = rt.loop().Call([&] { return UdpDht::Open(rt.udp(), rt.clock(), o).value(); });
    address_ = rt.loop().Call([&] { return dht_->local(); });
  }
  ~Bootstrap() {
    runtime::Default().loop().Call([&] { dht_.reset(); });
  }
  const UdpEndpoint& address() const { return address_; }
  size_t records() const {
    return runtime::Default().loop().Call([&] { return dht_->store().size(); });
  }

 private:
  std::unique_ptr<UdpDht> dht_;
  UdpEndpoint address_;
};

using hyper::testing::NewFeed;

NodeId Topic(const core::Feed& feed) {
  NodeId t{};
  std::copy(feed.discovery_key().begin(), feed.discovery_key().end(), t.begin());
  return t;
}

protocol::ReplicationOptions Dedup() {
  protocol::ReplicationOptions o;
  o.deduplicate = true;
  return o;
}

SwarmOptions Local(const Bootstrap& b, bool listen) {
  SwarmOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.listen = listen;
  o.bootstrap = {b.address()};
  return o;
}

TEST(Swarm, AReaderThatKnowsOnlyTheKeyFindsTheSeedAndReplicates) {
  Bootstrap boot;
  auto w = NewFeed(std::nullopt, 20);
  auto seed_rep = protocol::Replicator::Create(Dedup()).value();
  protocol::PeerOptions serve;
  serve.live = true;
  serve.open_on = protocol::PeerOptions::OpenOn::kRemoteAsks;
  ASSERT_TRUE(seed_rep->AddFeed(w->feed.get(), serve).ok());
  auto seed = Swarm::Open(*seed_rep, Local(boot, true)).value();
  seed->Join(Topic(*w->feed), JoinOptions{.announce = true, .lookup = false});

  auto r = NewFeed(w->feed->key());
  auto reader_rep = protocol::Replicator::Create(Dedup()).value();
  ASSERT_TRUE(reader_rep->AddFeed(r->feed.get()).ok());
  auto reader = Swarm::Open(*reader_rep, Local(boot, false)).value();
  // Joined at the same moment as the seed announced: found by a repeated lookup if not the
  // first one.
  reader->Join(Topic(*w->feed));
  ASSERT_TRUE(reader_rep->WaitForLength(r->feed.get(), 20, 15s).ok());
  for (uint64_t i = 0; i < 20; i++) {
    EXPECT_EQ(r->feed->Get(BlockIndex(i)).value(), w->feed->Get(BlockIndex(i)).value());
  }
  SwarmStats st = reader->stats();
  EXPECT_GE(st.peers_found, 1u);
  EXPECT_EQ(st.dialled_connected, 1u);
  // The seed's announce is stored on the bootstrap under the UDP source port, and that port
  // accepts TCP: the reader dialled exactly it.
  auto conns = reader_rep->connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].remote, "127.0.0.1:" + std::to_string(seed->port()));
  EXPECT_GE(boot.records(), 1u);
  reader.reset();
  seed.reset();
}

TEST(Swarm, ASeedAcceptsUtpConnectionsOnItsDhtSocket) {
  // The seed's one UDP socket serves the DHT (its announce reaches the bootstrap) and accepts
  // uTP: a replicator whose only sockets are uTP ones, on a socket of its own, dials the
  // seed's port and replicates. No TCP connection is made.
  Bootstrap boot;
  auto w = NewFeed(std::nullopt, 20);
  // Live, so that the connection stays open to be looked at.
  protocol::PeerOptions live;
  live.live = true;
  auto seed_rep = protocol::Replicator::Create(Dedup()).value();
  ASSERT_TRUE(seed_rep->AddFeed(w->feed.get(), live).ok());
  auto seed = Swarm::Open(*seed_rep, Local(boot, true)).value();
  seed->Join(Topic(*w->feed), JoinOptions{.announce = true, .lookup = false});

  runtime::Runtime& rt = runtime::Default();
  std::unique_ptr<UdpDht> dialer_socket;
  std::unique_ptr<utp::UtpSocketFactory> dialer_utp;
  rt.loop().Call([&] {
    UdpDhtOptions o;
    o.host = "127.0.0.1";
    o.utp = true;
    dialer_socket = UdpDht::Open(rt.udp(), rt.clock(), o).value();
    dialer_utp = std::make_unique<utp::UtpSocketFactory>(rt.loop(), *dialer_socket->utp(),
                                                         dialer_socket->local().port);
  });
  protocol::ReplicationOptions ro;
  ro.sockets = dialer_utp.get();
  auto r = NewFeed(w->feed->key());
  auto reader_rep = protocol::Replicator::Create(ro).value();
  ASSERT_TRUE(reader_rep->AddFeed(r->feed.get(), live).ok());
  ASSERT_TRUE(reader_rep->Connect("127.0.0.1", seed->port()).ok());
  ASSERT_TRUE(reader_rep->WaitForLength(r->feed.get(), 20, 10s).ok());
  for (uint64_t i = 0; i < 20; i++) {
    EXPECT_EQ(r->feed->Get(BlockIndex(i)).value(), w->feed->Get(BlockIndex(i)).value());
  }
  auto conns = seed_rep->connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].remote, "127.0.0.1:" + std::to_string(dialer_socket->local().port));
  // The DHT on the same socket still works: the seed's announce is stored.
  for (int i = 0; i < 200 && seed->stats().announces_done == 0; i++) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(boot.records(), 1u);
  reader_rep.reset();
  rt.loop().Call([&] {
    dialer_utp.reset();
    dialer_socket.reset();
  });
  seed.reset();
}

// The runtime's TCP sockets, except that Listen binds nothing: TCP to the port is refused.
class NoTcpListening : public runtime::SocketFactory {
 public:
  std::function<void()> Connect(const std::string& host, uint16_t port, Connected done) override {
    return runtime::Default().sockets().Connect(host, port, std::move(done));
  }
  Result<std::unique_ptr<runtime::Listener>> Listen(const std::string&, uint16_t port,
                                                    Accepted) override {
    struct Nothing : runtime::Listener {
      uint16_t p;
      explicit Nothing(uint16_t port) : p(port) {}
      uint16_t port() const override { return p; }
      void Close() override {}
    };
    return std::unique_ptr<runtime::Listener>(new Nothing(port));
  }
};

TEST(Swarm, AReaderDialsUtpWhenTcpToTheSeedIsRefused) {
  // The seed listens on uTP only (its TCP port refuses). The reader, a plain swarm, finds it
  // through the DHT and dials: TCP and uTP race on the DHT's socket, uTP wins, and the feed
  // replicates over it.
  Bootstrap boot;
  auto w = NewFeed(std::nullopt, 20);
  NoTcpListening no_tcp;
  protocol::ReplicationOptions so = Dedup();
  so.sockets = &no_tcp;
  auto seed_rep = protocol::Replicator::Create(so).value();
  protocol::PeerOptions serve;
  serve.live = true;
  serve.open_on = protocol::PeerOptions::OpenOn::kRemoteAsks;
  ASSERT_TRUE(seed_rep->AddFeed(w->feed.get(), serve).ok());
  auto seed = Swarm::Open(*seed_rep, Local(boot, true)).value();
  seed->Join(Topic(*w->feed), JoinOptions{.announce = true, .lookup = false});
  // Nothing accepts TCP on the seed's port.
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(seed->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    close(fd);
  }

  auto r = NewFeed(w->feed->key());
  auto reader_rep = protocol::Replicator::Create(Dedup()).value();
  ASSERT_TRUE(reader_rep->AddFeed(r->feed.get()).ok());
  auto reader = Swarm::Open(*reader_rep, Local(boot, false)).value();
  reader->Join(Topic(*w->feed));
  ASSERT_TRUE(reader_rep->WaitForLength(r->feed.get(), 20, 15s).ok());
  for (uint64_t i = 0; i < 20; i++) {
    EXPECT_EQ(r->feed->Get(BlockIndex(i)).value(), w->feed->Get(BlockIndex(i)).value());
  }
  EXPECT_EQ(reader->stats().dialled_connected, 1u);
  // The seed sees the reader's DHT socket as the remote: a uTP connection (a TCP one would
  // come from an ephemeral port).
  auto conns = seed_rep->connections();
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_EQ(conns[0].remote, "127.0.0.1:" + std::to_string(reader->port()));
  reader.reset();
  seed.reset();
}

TEST(Swarm, OfAUtpAndATcpConnectionToOnePeerTheTcpOneIsKept) {
  // The reader dials the seed over uTP, then over TCP: two connections to one peer. By the
  // key rule alone the older (uTP) one would stay; as in hyperswarm, TCP is kept over uTP,
  // on both sides.
  Bootstrap boot;
  auto w = NewFeed(std::nullopt, 5);
  protocol::PeerOptions live;
  live.live = true;
  auto seed_rep = protocol::Replicator::Create(Dedup()).value();
  ASSERT_TRUE(seed_rep->AddFeed(w->feed.get(), live).ok());
  auto seed = Swarm::Open(*seed_rep, Local(boot, true)).value();

  runtime::Runtime& rt = runtime::Default();
  std::unique_ptr<UdpDht> dialer_socket;
  std::unique_ptr<utp::UtpSocketFactory> dialer_utp;
  rt.loop().Call([&] {
    UdpDhtOptions o;
    o.host = "127.0.0.1";
    o.utp = true;
    dialer_socket = UdpDht::Open(rt.udp(), rt.clock(), o).value();
    dialer_utp = std::make_unique<utp::UtpSocketFactory>(rt.loop(), *dialer_socket->utp(),
                                                         dialer_socket->local().port);
  });
  const std::string utp_remote = "127.0.0.1:" + std::to_string(dialer_socket->local().port);
  auto r = NewFeed(w->feed->key());
  auto reader_rep = protocol::Replicator::Create(Dedup()).value();
  ASSERT_TRUE(reader_rep->AddFeed(r->feed.get(), live).ok());
  std::promise<Status> utp_connected;
  protocol::DialCallbacks cb;
  cb.connected = [&](const Status& s) { utp_connected.set_value(s); };
  reader_rep->Dial(*dialer_utp, "127.0.0.1", seed->port(), 5000ms, std::move(cb));
  ASSERT_TRUE(utp_connected.get_future().get().ok());
  ASSERT_TRUE(reader_rep->WaitForLength(r->feed.get(), 5, 10s).ok());
  ASSERT_EQ(seed_rep->connections().size(), 1u);
  EXPECT_EQ(seed_rep->connections()[0].remote, utp_remote);
  ASSERT_TRUE(reader_rep->Connect("127.0.0.1", seed->port()).ok());  // TCP
  // The uTP one closes on both sides; the TCP one stays.
  for (int i = 0; i < 300 && (seed_rep->connections().size() != 1 ||
                              seed_rep->connections()[0].remote == utp_remote ||
                              reader_rep->connections().size() != 1);
       i++) {
    std::this_thread::sleep_for(10ms);
  }
  auto seed_conns = seed_rep->connections();
  ASSERT_EQ(seed_conns.size(), 1u);
  EXPECT_NE(seed_conns[0].remote, utp_remote);  // TCP: the dialler's ephemeral port
  EXPECT_EQ(reader_rep->connections().size(), 1u);
  reader_rep.reset();
  rt.loop().Call([&] {
    dialer_utp.reset();
    dialer_socket.reset();
  });
  seed.reset();
}

TEST(Swarm, LeavingUnannouncesSoThatLaterLookupsFindNobody) {
  Bootstrap boot;
  auto w = NewFeed(std::nullopt, 1);
  auto seed_rep = protocol::Replicator::Create(Dedup()).value();
  auto seed = Swarm::Open(*seed_rep, Local(boot, true)).value();
  seed->Join(Topic(*w->feed), JoinOptions{.announce = true, .lookup = false});
  // Wait for the announce to be stored, then leave.
  for (int i = 0; i < 200 && seed->stats().announces_done == 0; i++) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(boot.records(), 1u);
  seed.reset();  // unannounces (waits for it)
  EXPECT_EQ(boot.records(), 0u);
}

TEST(Swarm, TwoPeersThatAnnounceAndLookUpEachOtherKeepOneConnection) {
  Bootstrap boot;
  auto w = NewFeed(std::nullopt, 10);
  auto r = NewFeed(w->feed->key());
  auto a_rep = protocol::Replicator::Create(Dedup()).value();
  auto b_rep = protocol::Replicator::Create(Dedup()).value();
  protocol::PeerOptions live;
  live.live = true;
  ASSERT_TRUE(a_rep->AddFeed(w->feed.get(), live).ok());
  ASSERT_TRUE(b_rep->AddFeed(r->feed.get(), live).ok());
  auto a = Swarm::Open(*a_rep, Local(boot, true)).value();
  auto b = Swarm::Open(*b_rep, Local(boot, true)).value();
  a->Join(Topic(*w->feed), JoinOptions{.announce = true, .lookup = true});
  b->Join(Topic(*w->feed), JoinOptions{.announce = true, .lookup = true});
  ASSERT_TRUE(b_rep->WaitForLength(r->feed.get(), 10, 15s).ok());
  // Each side finds the other and dials it; of the two connections, both sides keep the same
  // one. Wait until both have dialled (or been refused) and the duplicate is gone.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  uint64_t seen = a_rep->events();
  while (std::chrono::steady_clock::now() < deadline) {
    SwarmStats sa = a->stats();
    SwarmStats sb = b->stats();
    bool both_tried = sa.peers_found >= 1 && sb.peers_found >= 1 && sa.dialling == 0 &&
                      sb.dialling == 0 && sa.lookups_done >= 2 && sb.lookups_done >= 2;
    if (both_tried && a_rep->connections().size() == 1 && b_rep->connections().size() == 1) break;
    (void)a_rep->WaitForEvent(seen, 200ms);
    seen = a_rep->events();
  }
  EXPECT_EQ(a_rep->connections().size(), 1u);
  EXPECT_EQ(b_rep->connections().size(), 1u);
  // Still replicating live over the one kept.
  ASSERT_TRUE(w->feed->Append(ToBytes("after")).ok());
  EXPECT_TRUE(b_rep->WaitForLength(r->feed.get(), 11, 10s).ok());
  a.reset();
  b.reset();
}

// Polls `done` every 10 ms for up to 15 s (swarm statistics have no event to wait on).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1500; i++) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(Swarm, APeerThatBreaksTheProtocolIsBannedAndNeverDialledAgain) {
  Bootstrap boot;
  runtime::Runtime& rt = runtime::Default();
  // The bad peer: a DHT node that announces the topic, and on the same port number a TCP
  // listener that answers every connection with a frame header no stream accepts.
  UdpDhtOptions o;
  o.host = "127.0.0.1";
  o.node.bootstrap = {boot.address()};
  auto bad = rt.loop().Call([&] { return UdpDht::Open(rt.udp(), rt.clock(), o).value(); });
  const uint16_t port = rt.loop().Call([&] { return bad->local().port; });
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  std::atomic<int> accepted{0};
  std::vector<int> clients;
  std::thread server([&] {
    while (true) {
      int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      accepted++;
      const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
      (void)::write(c, junk, sizeof junk);
      clients.push_back(c);
    }
  });
  auto w = NewFeed(std::nullopt, 1);
  std::atomic<bool> announced{false};
  rt.loop().Call([&] {
    (void)Announce(bad->node(), Topic(*w->feed), PeersOptions{}, nullptr,
                   [&](const Status& s, const QueryStats&) { announced = s.ok(); });
  });
  ASSERT_TRUE(Eventually([&] { return announced.load(); }));

  auto r = NewFeed(w->feed->key());
  auto rep = protocol::Replicator::Create(Dedup()).value();
  ASSERT_TRUE(rep->AddFeed(r->feed.get()).ok());
  auto reader = Swarm::Open(*rep, Local(boot, false)).value();
  reader->Join(Topic(*w->feed));
  ASSERT_TRUE(Eventually([&] { return reader->stats().peers_banned == 1; }))
      << "dials failed " << reader->stats().dials_failed;
  // Lookups go on finding it (at 1 s, then 2 s later): it is never dialled again, where a peer
  // that merely went away would be after 1 s.
  ASSERT_TRUE(Eventually([&] { return reader->stats().lookups_done >= 3; }));
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(reader->stats().peers_found, 1u);
  reader.reset();
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  server.join();
  for (int c : clients) ::close(c);
  rt.loop().Call([&] { bad.reset(); });
}

TEST(Swarm, AnExplicitPortTakenForTcpIsAnError) {
  Bootstrap boot;
  auto rep1 = protocol::Replicator::Create(Dedup()).value();
  uint16_t taken = rep1->Listen("127.0.0.1", 0).value();
  auto rep2 = protocol::Replicator::Create(Dedup()).value();
  SwarmOptions o = Local(boot, true);
  o.port = taken;
  auto s = Swarm::Open(*rep2, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(std::to_string(taken)), std::string::npos)
      << s.status().ToString();
}

}  // namespace
}  // namespace hyper::swarm
