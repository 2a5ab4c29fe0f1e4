#include "hyper/protocol/tcp.h"

#include <array>
#include <asio/error.hpp>
#include <functional>
#include <future>
#include <map>
#include <set>

#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/executor.h"
#include "hyper/runtime/mutex.h"
#include "hyper/runtime/runtime.h"
#include "hyper/runtime/socket.h"
#include "hyper/runtime/timer.h"
#include "hyper/trie/extension.h"
#include "src/protocol/trie_get_extension.h"

namespace hyper::protocol {
namespace {

// Refusals and drops of remote connections are reported at most this often.
constexpr std::chrono::seconds kLogInterval{5};
// Stop reading from a peer while this much is waiting to be written to it (a peer that sends
// requests but does not read the answers must not make us buffer without bound).
constexpr size_t kMaxPendingWrite = 16 * 1024 * 1024;
// One socket read takes up to this much: a Data frame (a 64 KiB block and its proof) then
// usually arrives whole and is decoded where it lies, and there are few read calls.
constexpr size_t kReadBuffer = 256 * 1024;
// Received blocks waiting for Feed::Put on the store thread, per feed (see SetBlockStore).
constexpr size_t kMaxStoringBlocks = 32;
constexpr uint64_t kMaxStoringBytes = 8 * 1024 * 1024;
// hypertrie's get extension: gets answered at once per feed (the reference's limit), and blocks
// named by the peers' answers waited for at once.
constexpr size_t kMaxTrieGetsActive = 32;
constexpr size_t kMaxTriePrefetch = 4096;

}  // namespace

struct TcpConnection;

// Lets callbacks installed on feeds (fetcher, append listener), which other threads may call
// at any time, reach the loop only while the Replicator is alive. What they post holds the
// Impl, so that it outlives every handler queued for it on the shared loop.
struct Gate {
  runtime::Mutex mu;
  std::weak_ptr<Replicator::Impl> impl GUARDED_BY(mu);
  bool open GUARDED_BY(mu) = false;

  // Runs fn(impl) on the loop, unless the replicator is being destroyed (then false).
  bool Post(std::function<void(Replicator::Impl*)> fn) EXCLUDES(mu);
};

// Everything of one Replicator. It lives on the process's runtime (runtime::Default()): the
// loop thread runs its sockets, streams and timers, the executor stores its received blocks.
// Every field below `loop-only` is touched on the loop only.
struct Replicator::Impl : std::enable_shared_from_this<Replicator::Impl> {
  explicit Impl(const ReplicationOptions& o)
      : options(o),
        rt(runtime::Default()),
        loop(rt.loop()),
        executor(rt.executor()),
        clock(o.clock != nullptr ? *o.clock : rt.clock()),
        sockets(o.sockets != nullptr ? *o.sockets : rt.sockets()) {}

  ReplicationOptions options;
  // Our Noise identity, the same on every connection (hyperswarm's duplicate rule compares it).
  DhKeyPair key_pair = options.key_pair ? *options.key_pair : GenerateDhKeyPair();
  runtime::Runtime& rt;
  runtime::EventLoop& loop;
  // Stores received blocks (Feed::Put) off the loop, in order for each feed (its key).
  runtime::Executor& executor;
  runtime::Clock& clock;
  runtime::SocketFactory& sockets;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  // Completions of the stores, run on the loop in batches: one wake-up of the loop (and one
  // flush of the connections) for however many blocks were stored meanwhile.
  runtime::Mutex stored_mu;
  std::vector<std::function<void()>> stored GUARDED_BY(stored_mu);

  // On the executor.
  void AddCompletion(std::function<void()> fn) EXCLUDES(stored_mu) {
    bool first;
    {
      runtime::MutexLock g(&stored_mu);
      first = stored.empty();
      stored.push_back(std::move(fn));
    }
    if (!first) return;  // a batch is already posted and has not started
    gate->Post([](Impl* impl) { impl->RunCompletions(); });
  }

  // On the loop.
  void RunCompletions() EXCLUDES(stored_mu) {
    HYPER_ASSERT_ON_LOOP(loop);
    std::vector<std::function<void()>> batch;
    {
      runtime::MutexLock g(&stored_mu);
      batch.swap(stored);
    }
    for (auto& fn : batch) fn();
    FlushAll();
  }

  // loop-only.
  struct FeedEntry {
    core::Feed* feed = nullptr;
    PeerOptions options;
    std::unique_ptr<FeedReplicator> rep;
    uint64_t listener = 0;
    // AddFeed calls not yet matched by a RemoveFeed: a drive replicated on its own and followed
    // as a mount of another drive adds its feeds twice.
    int adds = 1;
    // hypertrie's get extension: answers being computed on the store thread, blocks named by
    // answers and not yet here (shared with their Want callbacks), counters.
    size_t trie_gets_active = 0;
    std::shared_ptr<size_t> trie_prefetching = std::make_shared<size_t>(0);
    uint64_t trie_gets_sent = 0;
    uint64_t trie_gets_answered = 0;
    uint64_t trie_cache_seqs = 0;
    // Given by the feed provider: kept alive here, dropped once no peer replicates it.
    std::shared_ptr<core::Feed> owned;
  };
  std::vector<std::unique_ptr<FeedEntry>> feeds;
  std::map<core::Feed*, FeedEntry*> by_feed;
  std::map<crypto::Hash, FeedEntry*> by_discovery_key;
  // Discovery keys the feed provider is looking up.
  std::set<crypto::Hash> providing;
  std::vector<std::unique_ptr<runtime::Listener>> listeners;
  std::set<std::shared_ptr<TcpConnection>> conns;
  // Stream extensions spoken on every connection (RegisterStreamExtension), by name.
  std::map<std::string, StreamExtensionFn> stream_extensions;
  std::vector<std::string> StreamExtensionNames() const {
    std::vector<std::string> names;
    names.reserve(stream_extensions.size());
    for (const auto& [name, fn] : stream_extensions) names.push_back(name);
    return names;
  }
  std::map<std::string, size_t> conns_by_address;  // open connections by remote IP address
  uint64_t next_connection_id = 1;
  Status first_error;
  // Rate limiting of Report, for each kind of report: when its last line went out, and how
  // many were held back since.
  struct ReportState {
    std::optional<runtime::TimePoint> last;
    uint64_t held_back = 0;
  };
  std::map<std::string, ReportState> reports;
  // Counts the events handled on the loop (reads, stored blocks, appends, closes); callers of
  // the Wait* methods sleep on it instead of polling (see WaitOn).
  runtime::Mutex events_mu;
  runtime::CondVar events_cv;
  uint64_t events GUARDED_BY(events_mu) = 0;

  // Tells options.log that a remote connection was refused or dropped (`kind` says which), at
  // most once per kLogInterval for each kind; what is held back meanwhile is counted in the next
  // line of that kind.
  void Report(const std::string& kind, const std::string& line) {
    if (!options.log) return;
    ReportState& r = reports[kind];
    auto now = clock.Now();
    if (r.last && now - *r.last < kLogInterval) {
      r.held_back++;
      return;
    }
    std::string text = line;
    if (r.held_back > 0) {
      text += " (" + std::to_string(r.held_back) + " more " + kind + " since the last report)";
    }
    r.last = now;
    r.held_back = 0;
    options.log(text);
  }

  // Runs fn on the loop and returns its result.
  template <typename F>
  auto Run(F&& fn) -> decltype(fn()) {
    return loop.Call(std::forward<F>(fn));
  }

  // Waits (not on the loop) until `check`, run on the calling thread after each event on the
  // loop, holds; false once `timeout` passed first. A check of loop state uses Run.
  bool WaitOn(const std::function<bool()>& check, std::chrono::milliseconds timeout)
      EXCLUDES(events_mu);
  // Wakes the waiters. On the loop, after every event.
  void Notify() EXCLUDES(events_mu);

  FeedEntry* Find(core::Feed* feed) {
    auto it = by_feed.find(feed);
    return it == by_feed.end() ? nullptr : it->second;
  }
  FeedEntry* FindByDiscoveryKey(const crypto::Hash& dk) {
    auto it = by_discovery_key.find(dk);
    return it == by_discovery_key.end() ? nullptr : it->second;
  }

  // Whether we open the entry's channel first on a connection (PeerOptions::open_on).
  static bool OpensFirst(const FeedEntry& e, bool initiator) {
    switch (e.options.open_on) {
      case PeerOptions::OpenOn::kEveryConnection:
        return true;
      case PeerOptions::OpenOn::kDialled:
        return initiator;
      case PeerOptions::OpenOn::kRemoteAsks:
        return false;
    }
    return false;
  }

  // The loop's half of AddFeed (and of a feed the provider gave, `owned`).
  Result<FeedEntry*> AddEntry(core::Feed* feed, const PeerOptions& options,
                              std::shared_ptr<core::Feed> owned);
  // Stops replicating feeds[index] (closes its channels). A feed the provider gave is released
  // on the executor, after the stores into it still queued there.
  void EraseEntry(size_t index);
  // A remote opened the channel of `dk`, which no entry has: asks the feed provider.
  void Provide(const crypto::Hash& dk);
  void OnProvided(const crypto::Hash& dk, std::shared_ptr<core::Feed> feed, PeerOptions options);
  // Installs the append listener (announces local appends to the peers) of an entry.
  void ListenForAppends(FeedEntry& e);
  // Releases the provided feeds that no peer replicates any more.
  void ReleaseIdle();

  bool AnyLive() const {
    for (const auto& e : feeds) {
      if (e->options.live) return true;
    }
    return false;
  }

  void CollectAll() {
    for (auto& e : feeds) e->rep->Collect();
  }

  // Registers the "hypertrie" extension on the entry's replicator (trie_get_extension.h): gets
  // are answered on the executor, in the feed's urgent lane (at most kMaxTrieGetsActive at once,
  // as the reference), and the blocks a peer's answer names are wanted (at most
  // kMaxTriePrefetch at once).
  Status EnableTrieExtension(FeedEntry& entry) {
    core::Feed* feed = entry.feed;
    runtime::Executor* exec = &executor;
    ExtensionHandler h;
    h.on_message = [this, exec, feed](uint64_t peer, ByteView payload) {
      FeedEntry* e = Find(feed);
      if (e == nullptr) return;
      TrieExtensionAction action = ParseTrieExtension(payload, *feed);
      e->trie_cache_seqs += action.download.size();
      for (uint64_t seq : action.download) {
        // A seq past what any peer announced would never arrive and hold a prefetch slot.
        if (seq >= e->rep->remote_length()) continue;
        if (*e->trie_prefetching >= kMaxTriePrefetch) break;
        ++*e->trie_prefetching;
        e->rep->Want(BlockIndex(seq), [left = e->trie_prefetching](const Status&) { --*left; });
      }
      if (!action.get || e->trie_gets_active >= kMaxTrieGetsActive) return;
      ++e->trie_gets_active;
      exec->Post(
          feed,
          [this, feed, peer, get = std::move(*action.get)] {
            std::vector<Bytes> answer = AnswerTrieGet(*feed, get);
            AddCompletion([this, feed, peer, answer = std::move(answer)] {
              FeedEntry* e = Find(feed);
              if (e == nullptr) return;
              if (e->trie_gets_active > 0) --e->trie_gets_active;
              ++e->trie_gets_answered;
              for (const Bytes& m : answer) {
                (void)e->rep->SendExtension(peer, trie::kExtensionName, m);
              }
            });
          },
          runtime::Lane::kUrgent);
    };
    return entry.rep->RegisterExtension(std::string(trie::kExtensionName), std::move(h));
  }

  // `closed` (dialled connections) is told when the connection closes. Busy when refused (the
  // limits): `closed` is then never told.
  Status StartConnection(std::unique_ptr<runtime::Socket> socket, bool initiator,
                         std::function<void(const Status&)> closed = nullptr);
  void FlushAll();
  // After `c`'s handshake: the duplicate rule (ReplicationOptions::deduplicate).
  void Deduplicate(TcpConnection& c);
  void Tell(const TcpConnection& c, ConnectionEvent::Kind kind, const Status& status);
};

bool Gate::Post(std::function<void(Replicator::Impl*)> fn) {
  runtime::MutexLock g(&mu);
  if (!open) return false;
  std::shared_ptr<Replicator::Impl> self = impl.lock();
  if (!self) return false;
  runtime::EventLoop& loop = self->loop;
  loop.Post([self = std::move(self), fn = std::move(fn)] { fn(self.get()); });
  return true;
}

struct TcpConnection : std::enable_shared_from_this<TcpConnection> {
  TcpConnection(Replicator::Impl* impl, std::unique_ptr<runtime::Socket> s, bool initiator)
      : impl(impl),
        socket(std::move(s)),
        stream(StreamOptions{initiator, impl->key_pair, impl->options.limits}),
        idle(impl->clock),
        keepalive(impl->clock),
        handshake(impl->clock),
        initiator(initiator) {
    remote = socket->remote_endpoint();
    address = socket->remote_address();
    over_datagrams = socket->over_datagrams();
  }

  Replicator::Impl* impl;
  std::unique_ptr<runtime::Socket> socket;  // Nagle's algorithm off (see runtime::Socket)
  ProtocolStream stream;
  // On the replicator's clock (runtime::Default().clock() unless the options give one).
  runtime::Timer idle;
  runtime::Timer keepalive;
  runtime::Timer handshake;
  bool initiator;
  std::string remote;   // "address:port"
  std::string address;  // the remote IP address
  Bytes buf = Bytes(kReadBuffer);
  Bytes writing;
  bool write_in_flight = false;
  bool closed = false;
  bool ending = false;
  bool had_channels = false;
  bool read_paused = false;
  bool over_datagrams = false;  // uTP: loses to a TCP connection to the same peer
  bool handshake_told = false;  // the handshake's end was handled (duplicate rule, on_connection)
  uint64_t id = 0;
  std::function<void(const Status&)> on_closed;  // a Dial's `closed`
  runtime::TimePoint last_received;              // when the remote last sent bytes (see ArmIdle)

  size_t pending_write() const { return writing.size() + stream.output_size(); }

  void Start() {
    std::weak_ptr<TcpConnection> weak = weak_from_this();
    // A remote that opens a channel is answered when we have (or the provider finds) its feed;
    // the stream checks its capability. We open first only what open_on says.
    stream.on_discovery_key = [this](const crypto::Hash& dk) {
      if (auto* e = impl->FindByDiscoveryKey(dk)) {
        (void)e->rep->Attach(&stream);
      } else {
        impl->Provide(dk);
      }
    };
    stream.SetStreamExtensions(impl->StreamExtensionNames());
    stream.on_stream_extension = [this](const std::string& name, ByteView payload) {
      auto it = impl->stream_extensions.find(name);
      auto key = stream.remote_public_key();
      if (it == impl->stream_extensions.end() || !key) return;
      const StreamExtensionFn fn = it->second;  // the handler may unregister itself
      fn(*key, payload);
    };
    stream.Start();
    for (auto& e : impl->feeds) {
      if (Replicator::Impl::OpensFirst(*e, initiator)) (void)e->rep->Attach(&stream);
    }
    auto handshake_timeout = impl->options.handshake_timeout;
    if (!initiator) {
      handshake_timeout = std::min(handshake_timeout, impl->options.accept_handshake_timeout);
    }
    handshake.Start(handshake_timeout, [weak, handshake_timeout] {
      auto self = weak.lock();
      if (!self || self->closed) return;
      if (self->stream.handshake_done()) return;
      if (!self->initiator) {
        self->impl->Report("dropped", "dropped the connection from " + self->remote +
                                          ": no handshake within " +
                                          std::to_string(handshake_timeout.count()) + " ms");
      }
      self->Close(Status::Timeout("handshake did not finish"));
    });
    ArmIdle();
    ArmKeepAlive();
    Read();
    impl->FlushAll();
  }

  // Notes that the remote sent something. The idle timer is not re-armed on every read (a
  // timer per read costs): when it fires, it closes the connection only if nothing came for
  // the whole timeout, and otherwise waits for the rest of it.
  void ArmIdle() {
    last_received = impl->clock.Now();
    if (!idle.armed()) StartIdle(impl->options.timeout);
  }

  void StartIdle(runtime::Duration delay) {
    std::weak_ptr<TcpConnection> weak = weak_from_this();
    idle.Start(delay, [weak] {
      auto self = weak.lock();
      if (!self || self->closed) return;
      const runtime::Duration silent = self->impl->clock.Now() - self->last_received;
      const runtime::Duration timeout = self->impl->options.timeout;
      if (silent < timeout) {
        self->StartIdle(timeout - silent);
        return;
      }
      self->Close(Status::Timeout("no data from the remote"));
    });
  }

  void ArmKeepAlive() {
    std::weak_ptr<TcpConnection> weak = weak_from_this();
    keepalive.Start(impl->options.timeout / 2, [weak] {
      auto self = weak.lock();
      if (!self || self->closed) return;
      self->stream.Ping();
      auto now = self->impl->clock.Now();
      for (auto& e : self->impl->feeds) e->rep->Tick(now, self->impl->options.timeout);
      self->impl->FlushAll();
      if (!self->closed) self->ArmKeepAlive();
    });
  }

  void Read() {
    auto self = shared_from_this();
    socket->ReadSome(buf, [self](std::error_code ec, size_t n) {
      if (self->closed) return;
      if (ec) {
        self->Close(ec == asio::error::eof ? Status::Ok()
                                           : Status::IOError("reading: " + ec.message()));
        return;
      }
      self->ArmIdle();
      Status s = self->stream.RecvInPlace(MutableByteView(self->buf.data(), n));
      if (!s.ok()) {
        self->Close(s);
        return;
      }
      if (!self->handshake_told && self->stream.handshake_done()) {
        self->handshake_told = true;
        self->impl->Tell(*self, ConnectionEvent::Kind::kOpened, Status::Ok());
        if (self->impl->options.deduplicate) self->impl->Deduplicate(*self);
        if (self->closed) return;
      }
      // What came in on one connection may have produced output on others (announces, ends).
      self->impl->FlushAll();
      if (self->closed) return;
      if (self->pending_write() > kMaxPendingWrite) {
        self->read_paused = true;  // resumed once the writes drain
        return;
      }
      self->Read();
    });
  }

  // After anything happened: collect closed peers, send what is pending, and end a non-live
  // connection whose channels are all closed.
  void AfterEvent() {
    if (closed) return;
    impl->CollectAll();
    if (stream.channel_count() > 0) had_channels = true;
    if (stream.destroyed()) {
      Close(stream.error());
      return;
    }
    if (had_channels && stream.channel_count() == 0 && !impl->AnyLive()) ending = true;
    Flush();
  }

  void Flush() {
    if (write_in_flight || closed) return;
    if (!stream.has_output()) {
      if (ending) Close(Status::Ok());
      return;
    }
    stream.TakeOutput(writing);  // the stream keeps our old buffer for its next output
    write_in_flight = true;
    auto self = shared_from_this();
    socket->Write(writing, [self](std::error_code ec, size_t) {
      self->write_in_flight = false;
      // Kept for the next output, unless a burst made it large.
      if (self->writing.capacity() > kMaxPendingWrite / 4) {
        Bytes().swap(self->writing);
      } else {
        self->writing.clear();
      }
      if (self->closed) return;
      if (ec) {
        self->Close(Status::IOError("writing: " + ec.message()));
        return;
      }
      self->Flush();
      if (self->read_paused && !self->closed && self->pending_write() <= kMaxPendingWrite / 2) {
        self->read_paused = false;
        self->Read();
      }
    });
  }

  void Close(const Status& why) {
    if (closed) return;
    closed = true;
    // A duplicate (or a connection to ourselves) closed by the swarm's rule is no error.
    if (!why.ok() && why.code() != Code::kExists && impl->first_error.ok()) {
      impl->first_error = why.Annotate(remote);
    }
    stream.Destroy(why.ok() ? Status::Cancelled("connection closed") : why);
    impl->CollectAll();
    impl->ReleaseIdle();
    idle.Cancel();
    keepalive.Cancel();
    handshake.Cancel();
    socket->Close();
    if (auto it = impl->conns_by_address.find(address); it != impl->conns_by_address.end()) {
      if (--it->second == 0) impl->conns_by_address.erase(it);
    }
    if (handshake_told) impl->Tell(*this, ConnectionEvent::Kind::kClosed, why);
    if (auto closed_cb = std::move(on_closed)) closed_cb(why);
    impl->conns.erase(shared_from_this());
    impl->Notify();
  }
};

void Replicator::Impl::Tell(const TcpConnection& c, ConnectionEvent::Kind kind,
                            const Status& status) {
  if (!options.on_connection) return;
  ConnectionEvent e;
  e.kind = kind;
  e.id = c.id;
  e.initiator = c.initiator;
  e.remote = c.remote;
  e.remote_key = c.stream.remote_public_key();
  e.status = status;
  options.on_connection(e);
}

void Replicator::Impl::Deduplicate(TcpConnection& c) {
  HYPER_ASSERT_ON_LOOP(loop);
  auto remote_key = c.stream.remote_public_key();
  if (!remote_key) return;
  if (*remote_key == key_pair.public_key) {
    c.Close(Status::Exists("connected to ourselves"));
    return;
  }
  std::shared_ptr<TcpConnection> other;
  for (const auto& o : conns) {
    if (o.get() != &c && !o->closed && o->handshake_told &&
        o->stream.remote_public_key() == remote_key) {
      other = o;
      break;
    }
  }
  if (!other) return;
  // TCP survives over uTP (hyperswarm's rule: both sides see the same transports). Otherwise
  // the connection dialled by the side with the smaller key survives; two dialled by the same
  // side (two addresses of one peer): the older one.
  const bool we_are_smaller = key_pair.public_key < *remote_key;
  TcpConnection* loser = &c;
  if (c.over_datagrams != other->over_datagrams) {
    if (!c.over_datagrams) loser = other.get();
  } else if (c.initiator != other->initiator && c.initiator == we_are_smaller) {
    loser = other.get();
  }
  loser->Close(Status::Exists("a duplicate of another connection to " + c.remote));
}

Status Replicator::Impl::StartConnection(std::unique_ptr<runtime::Socket> socket, bool initiator,
                                         std::function<void(const Status&)> closed) {
  HYPER_ASSERT_ON_LOOP(loop);
  std::string refused;
  const std::string address = socket->remote_address();
  if (conns.size() >= options.max_connections) {
    refused = std::to_string(conns.size()) + " connections are open (the limit)";
  } else if (!initiator && conns_by_address[address] >= options.max_connections_per_address) {
    refused = std::to_string(conns_by_address[address]) +
              " connections from that address are open (the limit)";
  }
  if (!refused.empty()) {
    Report("refused", std::string(initiator ? "did not keep the connection to "
                                            : "refused a connection from ") +
                          socket->remote_endpoint() + ": " + refused);
    if (conns_by_address[address] == 0) conns_by_address.erase(address);
    socket->Close();
    return Status::Busy(refused);
  }
  auto c = std::make_shared<TcpConnection>(this, std::move(socket), initiator);
  c->id = next_connection_id++;
  c->on_closed = std::move(closed);
  conns.insert(c);
  conns_by_address[c->address]++;
  c->Start();
  return Status::Ok();
}

void Replicator::Impl::FlushAll() {
  HYPER_ASSERT_ON_LOOP(loop);
  std::vector<std::shared_ptr<TcpConnection>> all(conns.begin(), conns.end());
  for (auto& c : all) c->AfterEvent();
  ReleaseIdle();
  Notify();
}

Result<Replicator::Impl::FeedEntry*> Replicator::Impl::AddEntry(core::Feed* feed,
                                                                const PeerOptions& options,
                                                                std::shared_ptr<core::Feed> owned) {
  HYPER_ASSERT_ON_LOOP(loop);
  if (Find(feed)) return Status::Exists("feed is already replicated");
  auto e = std::make_unique<FeedEntry>();
  e->feed = feed;
  e->options = options;
  e->owned = std::move(owned);
  e->rep = std::make_unique<FeedReplicator>(feed, options);
  if (FindByDiscoveryKey(e->rep->discovery_key())) {
    return Status::Exists("a feed with that key is already replicated");
  }
  // Received blocks are verified and written by Feed::Put on the executor, one at a time and
  // in order for each feed (the feed is the key); the completion comes back to the loop.
  // RemoveFeed waits for the stores of the feed to end.
  Impl* impl = this;
  runtime::Executor* exec = &executor;
  BlockStore store;
  std::shared_ptr<BlockCopier> dedup = options.dedup;
  store.store = [impl, exec, feed, dedup](StoreJob job, std::function<void(Status)> done) {
    exec->Post(feed, [impl, feed, dedup, job = std::move(job), done = std::move(done)]() mutable {
      Status s = feed->Put(job.index, job.data, job.proof);
      if (s.ok() && dedup) dedup->Stored(*feed, job.index.value);
      // The block's buffer is freed with the completion, on the loop: the executor only
      // verifies and writes.
      impl->AddCompletion(
          [s = std::move(s), done = std::move(done), data = std::move(job.data)] { done(s); });
    });
  };
  // The feed queries of Requests take the urgent lane: before the feed's waiting Puts (on
  // the loop they would wait for the feed's lock while a Put holds it).
  store.prepare = [impl, exec, feed](std::vector<uint64_t> indexes,
                                     std::function<void(std::vector<RequestInfo>)> done) {
    exec->Post(
        feed,
        [impl, feed, indexes = std::move(indexes), done = std::move(done)]() mutable {
          std::vector<RequestInfo> infos;
          infos.reserve(indexes.size());
          for (uint64_t i : indexes) {
            bool local = feed->Has(BlockIndex(i));
            infos.push_back(RequestInfo{i, local, local ? 0 : feed->Digest(BlockIndex(i))});
          }
          impl->AddCompletion([infos = std::move(infos), done = std::move(done)] { done(infos); });
        },
        runtime::Lane::kUrgent);
  };
  // Copies from elsewhere in the store (PeerOptions::dedup) go the same way as the stores.
  if (dedup) {
    store.copy = [impl, exec, feed, dedup](CopyJob job, std::function<void(Status)> done) {
      exec->Post(feed, [impl, feed, dedup, job = std::move(job), done = std::move(done)]() mutable {
        Status s = dedup->Copy(*feed, job.index.value, job.leaf, job.proof);
        impl->AddCompletion([s = std::move(s), done = std::move(done)] { done(s); });
      });
    };
  }
  e->rep->SetBlockStore(std::move(store), kMaxStoringBlocks, kMaxStoringBytes);
  if (options.hypertrie_extension) RETURN_IF_ERROR(EnableTrieExtension(*e));
  FeedEntry* raw = e.get();
  feeds.push_back(std::move(e));
  by_feed[feed] = raw;
  by_discovery_key[raw->rep->discovery_key()] = raw;
  for (auto& c : conns) {
    if (OpensFirst(*raw, c->initiator) || c->stream.RemoteOpened(raw->rep->discovery_key())) {
      (void)raw->rep->Attach(&c->stream);
    }
  }
  return raw;
}

void Replicator::Impl::EraseEntry(size_t index) {
  HYPER_ASSERT_ON_LOOP(loop);
  std::unique_ptr<FeedEntry> e = std::move(feeds[index]);
  feeds.erase(feeds.begin() + static_cast<std::ptrdiff_t>(index));
  by_feed.erase(e->feed);
  by_discovery_key.erase(e->rep->discovery_key());
  if (e->listener != 0) e->feed->RemoveListener(e->listener);
  core::Feed* feed = e->feed;
  std::shared_ptr<core::Feed> owned = std::move(e->owned);
  e.reset();  // closes its channels
  if (owned) executor.Post(feed, [owned = std::move(owned)] {});
}

void Replicator::Impl::ListenForAppends(FeedEntry& entry) {
  core::Feed* feed = entry.feed;
  // Calls from other threads reach the loop only while the replicator lives (see Gate).
  entry.listener = feed->OnAppend([g = gate, feed](uint64_t length) {
    g->Post([feed, length](Impl* impl) {
      if (auto* e = impl->Find(feed)) {
        e->rep->OnLocalAppend(length);
        impl->FlushAll();
      }
    });
  });
}

void Replicator::Impl::Provide(const crypto::Hash& dk) {
  HYPER_ASSERT_ON_LOOP(loop);
  if (!options.feed_provider || !providing.insert(dk).second) return;
  std::shared_ptr<Gate> g = gate;
  options.feed_provider(dk, [g, dk](std::shared_ptr<core::Feed> feed, PeerOptions o) {
    g->Post([dk, feed = std::move(feed), o = std::move(o)](Impl* impl) mutable {
      impl->OnProvided(dk, std::move(feed), std::move(o));
    });
  });
}

void Replicator::Impl::OnProvided(const crypto::Hash& dk, std::shared_ptr<core::Feed> feed,
                                  PeerOptions options) {
  HYPER_ASSERT_ON_LOOP(loop);
  providing.erase(dk);
  if (!feed || crypto::DiscoveryKey(feed->key()) != dk) return;
  if (FeedEntry* e = FindByDiscoveryKey(dk)) {
    // Added meanwhile: answer the connections still waiting.
    for (auto& c : conns) {
      if (c->stream.RemoteOpened(dk) && !c->stream.IsOpen(dk)) (void)e->rep->Attach(&c->stream);
    }
  } else {
    options.open_on = PeerOptions::OpenOn::kRemoteAsks;
    core::Feed* raw = feed.get();
    auto added = AddEntry(raw, options, std::move(feed));
    if (!added.ok()) return;
    ListenForAppends(**added);
  }
  FlushAll();
}

void Replicator::Impl::ReleaseIdle() {
  for (size_t i = feeds.size(); i-- > 0;) {
    FeedEntry& e = *feeds[i];
    if (e.owned && e.rep->peer_count() == 0) EraseEntry(i);
  }
}

void Replicator::Impl::Notify() {
  runtime::MutexLock g(&events_mu);
  events++;
  events_cv.SignalAll();
}

bool Replicator::Impl::WaitOn(const std::function<bool()>& check,
                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t seen;
    {
      runtime::MutexLock g(&events_mu);
      seen = events;
    }
    if (check()) return true;
    // Sleeps until the loop handles another event (one that happened since `seen` counts).
    // `check` never runs with events_mu held: it may wait for the loop, which takes events_mu
    // to count every event (Notify).
    bool timed_out = false;
    {
      runtime::MutexLock g(&events_mu);
      while (events == seen && !timed_out) {
        timed_out = !events_cv.WaitUntil(&events_mu, deadline);
      }
      if (timed_out && events == seen) return false;
    }
    if (timed_out) return check();  // an event came just as the time ran out
  }
}

Replicator::Replicator(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Replicator>> Replicator::Create(const ReplicationOptions& options) {
  RETURN_IF_ERROR(crypto::Init());
  if (options.timeout.count() <= 0 || options.handshake_timeout.count() <= 0 ||
      options.accept_handshake_timeout.count() <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  if (options.max_connections == 0 || options.max_connections_per_address == 0) {
    return Status::InvalidArgument("connection limits must be positive");
  }
  auto impl = std::make_shared<Impl>(options);
  {
    runtime::MutexLock g(&impl->gate->mu);
    impl->gate->impl = impl;
    impl->gate->open = true;
  }
  return std::unique_ptr<Replicator>(new Replicator(std::move(impl)));
}

Replicator::~Replicator() {
  Impl& d = *impl_;
  {
    runtime::MutexLock g(&d.gate->mu);
    d.gate->open = false;
  }
  std::vector<core::Feed*> feeds = d.Run([&] {
    std::vector<core::Feed*> out;
    for (auto& e : d.feeds) out.push_back(e->feed);
    return out;
  });
  for (core::Feed* f : feeds) (void)RemoveFeed(f);
  d.Run([&] {
    std::vector<std::shared_ptr<TcpConnection>> all(d.conns.begin(), d.conns.end());
    for (auto& c : all) c->Close(Status::Ok());
    for (auto& l : d.listeners) l->Close();
  });
  // No store is left running (RemoveFeed waited for each feed's). Handlers still queued on the
  // loop hold the Impl (see Gate, DoAccept) and find nothing left to do.
}

Status Replicator::AddFeed(core::Feed* feed, PeerOptions options) {
  Impl& d = *impl_;
  Status s = d.Run([&]() -> Status {
    if (Impl::FeedEntry* held = d.Find(feed); held != nullptr && !held->owned) {
      // Already replicated for another user: shared, with the options it was first added with.
      held->adds++;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Impl::FeedEntry * e, d.AddEntry(feed, options, nullptr));
    d.ListenForAppends(*e);
    d.FlushAll();
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  Impl* impl = impl_.get();
  std::shared_ptr<Gate> gate = impl->gate;
  // Blocks missing locally are asked from the peers (sparse or not).
  std::chrono::milliseconds default_timeout = impl->options.fetch_timeout;
  feed->SetBlockFetcher(
      [gate, feed, default_timeout](BlockIndex index, std::chrono::milliseconds timeout) {
        struct Wait {
          runtime::Mutex mu;
          runtime::CondVar cv;
          bool done GUARDED_BY(mu) = false;
          Status status GUARDED_BY(mu);
          uint64_t handle GUARDED_BY(mu) = 0;
        };
        auto w = std::make_shared<Wait>();
        auto finish = [w](Status s) {
          runtime::MutexLock g(&w->mu);
          w->done = true;
          w->status = std::move(s);
          w->cv.SignalAll();
        };
        bool posted = gate->Post([feed, index, w, finish](Impl* impl) {
          auto* e = impl->Find(feed);
          if (!e) {
            finish(Status::Cancelled("feed is no longer replicated"));
            return;
          }
          uint64_t h = e->rep->Want(index, finish);
          {
            runtime::MutexLock g(&w->mu);
            w->handle = h;
          }
          impl->FlushAll();
        });
        if (!posted) return Status::Cancelled("replication stopped");
        if (timeout.count() <= 0) timeout = default_timeout;
        {
          const auto deadline = std::chrono::steady_clock::now() + timeout;
          runtime::MutexLock lock(&w->mu);
          while (!w->done && w->cv.WaitUntil(&w->mu, deadline)) {
          }
          if (w->done) return w->status;
        }
        gate->Post([feed, w](Impl* impl) {
          uint64_t handle = 0;
          {
            runtime::MutexLock g(&w->mu);
            if (!w->done) handle = w->handle;
          }
          auto* e = impl->Find(feed);
          if (e && handle) e->rep->CancelWant(handle);  // calls `finish`, which locks
        });
        return Status::Timeout("block " + std::to_string(index.value) + " not received in time");
      });
  return Status::Ok();
}

Status Replicator::RemoveFeed(core::Feed* feed) {
  Impl& d = *impl_;
  bool last = false;
  Status s = d.Run([&]() -> Status {
    for (size_t i = 0; i < d.feeds.size(); i++) {
      if (d.feeds[i]->feed == feed) {
        if (--d.feeds[i]->adds > 0) return Status::Ok();  // still replicated for another user
        last = true;
        d.EraseEntry(i);
        d.FlushAll();
        return Status::Ok();
      }
    }
    return Status::NotFound("feed is not replicated");
  });
  if (!last) return s;
  feed->SetBlockFetcher(nullptr);
  // No store into the feed may run once we return (the caller may close it).
  d.executor.WaitIdle(feed);
  return s;
}

Status Replicator::Download(core::Feed* feed, BlockIndex start, BlockIndex end) {
  Impl& d = *impl_;
  return d.Run([&]() -> Status {
    auto* e = d.Find(feed);
    if (!e) return Status::NotFound("feed is not replicated");
    e->rep->Download(start, end);
    d.FlushAll();
    return Status::Ok();
  });
}

Status Replicator::RegisterStreamExtension(const std::string& name, StreamExtensionFn on_message) {
  if (name.empty() || name.size() > impl_->options.limits.max_extension_name) {
    return Status::InvalidArgument("a stream extension needs a name of 1 to " +
                                   std::to_string(impl_->options.limits.max_extension_name) +
                                   " bytes");
  }
  Impl& d = *impl_;
  return d.Run([&]() -> Status {
    if (d.stream_extensions.count(name)) {
      return Status::Exists("stream extension " + name + " is registered already");
    }
    if (d.stream_extensions.size() >= d.options.limits.max_extensions) {
      return Status::Busy(std::to_string(d.stream_extensions.size()) +
                          " stream extensions are registered (the limit)");
    }
    d.stream_extensions[name] = std::move(on_message);
    const auto names = d.StreamExtensionNames();
    for (const auto& c : d.conns) c->stream.SetStreamExtensions(names);
    return Status::Ok();
  });
}

void Replicator::UnregisterStreamExtension(const std::string& name) {
  Impl& d = *impl_;
  d.Run([&]() -> Status {
    if (d.stream_extensions.erase(name) == 0) return Status::Ok();
    const auto names = d.StreamExtensionNames();
    for (const auto& c : d.conns) c->stream.SetStreamExtensions(names);
    return Status::Ok();
  });
}

Status Replicator::SendStreamExtension(const std::array<uint8_t, kDhBytes>& remote_key,
                                       const std::string& name, ByteView payload) {
  if (payload.size() > ProtocolStream::kMaxStreamExtensionPayload) {
    return Status::InvalidArgument("a stream extension message is at most " +
                                   std::to_string(ProtocolStream::kMaxStreamExtensionPayload) +
                                   " bytes");
  }
  Impl& d = *impl_;
  return d.Run([&]() -> Status {
    if (!d.stream_extensions.count(name)) {
      return Status::InvalidArgument("stream extension " + name + " is not registered");
    }
    for (const auto& c : d.conns) {
      if (c->closed || !c->handshake_told || c->stream.remote_public_key() != remote_key) {
        continue;
      }
      if (!c->stream.SendStreamExtension(name, payload)) break;
      c->Flush();
      return Status::Ok();
    }
    return Status::NotFound("no connection to peer " + ToHex(ByteView(remote_key)));
  });
}

Result<uint64_t> Replicator::StartDownload(core::Feed* feed, BlockIndex start, BlockIndex end) {
  Impl& d = *impl_;
  return d.Run([&]() -> Result<uint64_t> {
    auto* e = d.Find(feed);
    if (!e) return Status::NotFound("feed is not replicated");
    const uint64_t handle = e->rep->Download(start, end);
    d.FlushAll();
    return handle;
  });
}

void Replicator::CancelDownload(core::Feed* feed, uint64_t handle) {
  Impl& d = *impl_;
  d.Run([&]() -> Status {
    if (auto* e = d.Find(feed)) {
      e->rep->Undownload(handle);
      d.FlushAll();
    }
    return Status::Ok();
  });
}

Result<size_t> Replicator::AskTrieGet(core::Feed* feed, uint64_t head, std::string_view key) {
  Impl& d = *impl_;
  Bytes message = trie::EncodeExtensionGet(head, key);
  return d.Run([&]() -> Result<size_t> {
    auto* e = d.Find(feed);
    if (!e) return Status::NotFound("feed is not replicated");
    if (!e->options.hypertrie_extension) {
      return Status::InvalidArgument("feed is replicated without the hypertrie extension");
    }
    size_t sent = e->rep->BroadcastExtension(trie::kExtensionName, message);
    e->trie_gets_sent += sent;
    d.FlushAll();
    return sent;
  });
}

Result<uint16_t> Replicator::Listen(const std::string& host, uint16_t port) {
  return Listen(impl_->sockets, host, port);
}

Result<uint16_t> Replicator::Listen(runtime::SocketFactory& sockets, const std::string& host,
                                    uint16_t port) {
  Impl& d = *impl_;
  return d.Run([&]() -> Result<uint16_t> {
    // The listener's callback holds no Impl: after the destructor closed it, nothing comes.
    std::weak_ptr<Impl> weak = d.shared_from_this();
    ASSIGN_OR_RETURN(auto listener,
                     sockets.Listen(host, port, [weak](std::unique_ptr<runtime::Socket> s) {
                       if (auto self = weak.lock()) {
                         (void)self->StartConnection(std::move(s), false);
                       }
                     }));
    uint16_t bound = listener->port();
    d.listeners.push_back(std::move(listener));
    return bound;
  });
}

Status Replicator::Connect(const std::string& host, uint16_t port,
                           std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<Status>>();
  auto fut = done->get_future();
  DialCallbacks cb;
  cb.connected = [done](const Status& s) { done->set_value(s); };
  Dial(host, port, timeout, std::move(cb));
  return fut.get();
}

void Replicator::Dial(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
                      DialCallbacks callbacks) {
  Dial(impl_->sockets, host, port, timeout, std::move(callbacks));
}

runtime::SocketFactory& Replicator::sockets() { return impl_->sockets; }

void Replicator::Dial(runtime::SocketFactory& sockets, const std::string& host, uint16_t port,
                      std::chrono::milliseconds timeout, DialCallbacks callbacks) {
  // The attempt runs on the loop; its deadline is a timer on the replicator's clock, which
  // gives up the attempt (reported as Timeout).
  struct Attempt {
    std::optional<runtime::Timer> deadline;
    std::function<void()> give_up;
    bool timed_out = false;
    DialCallbacks callbacks;
  };
  auto a = std::make_shared<Attempt>();
  a->callbacks = std::move(callbacks);
  std::weak_ptr<Impl> weak = impl_;
  runtime::SocketFactory* factory = &sockets;
  impl_->loop.Post([a, weak, host, port, timeout, factory] {
    auto d = weak.lock();
    if (!d) return;
    a->deadline.emplace(d->clock);
    a->deadline->Start(timeout, [a] {
      a->timed_out = true;
      auto give_up = std::move(a->give_up);  // it reports, and so clears a->give_up
      if (give_up) give_up();
    });
    a->give_up = factory->Connect(
        host, port, [a, weak, host, port](Result<std::unique_ptr<runtime::Socket>> r) {
          a->deadline->Cancel();
          a->give_up = nullptr;
          auto connected = std::move(a->callbacks.connected);
          auto d = weak.lock();
          if (a->timed_out) {
            if (connected)
              connected(Status::Timeout("connecting to " + host + ":" + std::to_string(port)));
            return;
          }
          if (!r.ok() || !d) {
            if (connected)
              connected(r.ok() ? Status::Cancelled("replication stopped") : r.status());
            return;
          }
          Status started = d->StartConnection(std::move(*r), true, std::move(a->callbacks.closed));
          if (connected) connected(started);
        });
  });
}

std::array<uint8_t, kDhBytes> Replicator::public_key() const { return impl_->key_pair.public_key; }

Status Replicator::WaitUntilIdle(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  if (!d.WaitOn([&] { return d.Run([&] { return d.conns.empty(); }); }, timeout)) {
    return Status::Timeout("connections still open");
  }
  return d.Run([&] { return d.first_error; });
}

Status Replicator::WaitSynced(core::Feed* feed, std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  bool ok = d.WaitOn(
      [&] {
        return d.Run([&] {
          auto* e = d.Find(feed);
          return e && e->rep->synced();
        });
      },
      timeout);
  return ok ? Status::Ok() : Status::Timeout("feed not synced in time");
}

Status Replicator::WaitForLength(core::Feed* feed, uint64_t length,
                                 std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  // The feed is thread-safe: checked on this thread, the loop never waits for its lock.
  bool ok = d.WaitOn(
      [&] { return feed->length() >= length && feed->Has(BlockIndex(0), BlockIndex(length)); },
      timeout);
  return ok ? Status::Ok() : Status::Timeout("feed did not reach the length in time");
}

Status Replicator::Update(core::Feed* feed, std::chrono::milliseconds timeout,
                          const std::function<void(uint64_t)>& on_remote_length) {
  Impl& d = *impl_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t remote = 0;
  bool informed = d.WaitOn(
      [&] {
        return d.Run([&] {
          auto* e = d.Find(feed);
          if (!e || !e->rep->remote_informed()) return false;
          remote = e->rep->remote_length();
          return true;
        });
      },
      timeout);
  if (!informed) return Status::Timeout("no peer told us its length in time");
  if (on_remote_length) on_remote_length(remote);
  if (remote <= feed->length() && (remote == 0 || feed->Has(BlockIndex(remote - 1)))) {
    return Status::Ok();
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  core::GetOptions go;
  go.timeout = std::max(left, std::chrono::milliseconds(1));
  auto block = feed->Get(BlockIndex(remote - 1), go);
  return block.ok() ? Status::Ok() : block.status();
}

std::vector<ConnectionInfo> Replicator::connections() const {
  Impl& d = *impl_;
  return d.Run([&] {
    std::vector<ConnectionInfo> out;
    for (const auto& c : d.conns) {
      out.push_back(ConnectionInfo{c->initiator, c->remote, c->stream.bytes_sent(),
                                   c->stream.bytes_received(), c->stream.RemoteChannels(),
                                   c->stream.remote_public_key()});
    }
    return out;
  });
}

uint64_t Replicator::events() const {
  Impl& d = *impl_;
  runtime::MutexLock g(&d.events_mu);
  return d.events;
}

bool Replicator::WaitForEvent(uint64_t seen, std::chrono::milliseconds timeout) const {
  Impl& d = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  runtime::MutexLock g(&d.events_mu);
  while (d.events == seen) {
    if (!d.events_cv.WaitUntil(&d.events_mu, deadline)) return d.events != seen;
  }
  return true;
}

void Replicator::Wake() { impl_->Notify(); }

size_t Replicator::feed_count() const {
  Impl& d = *impl_;
  return d.Run([&] { return d.feeds.size(); });
}

Result<ReplicationStats> Replicator::stats(core::Feed* feed) const {
  Impl& d = *impl_;
  return d.Run([&]() -> Result<ReplicationStats> {
    auto* e = d.Find(feed);
    if (!e) return Status::NotFound("feed is not replicated");
    ReplicationStats st = e->rep->stats();
    st.trie_gets_sent = e->trie_gets_sent;
    st.trie_gets_answered = e->trie_gets_answered;
    st.trie_cache_seqs = e->trie_cache_seqs;
    return st;
  });
}

Status ReplicateOnce(const std::vector<core::Feed*>& feeds, const std::string& host, uint16_t port,
                     std::chrono::milliseconds timeout, const ReplicationOptions& options) {
  ASSIGN_OR_RETURN(auto r, Replicator::Create(options));
  for (core::Feed* f : feeds) RETURN_IF_ERROR(r->AddFeed(f));
  RETURN_IF_ERROR(r->Connect(host, port, timeout));
  return r->WaitUntilIdle(timeout);
}

}  // namespace hyper::protocol
