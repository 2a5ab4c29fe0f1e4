#include "hyper/protocol/tcp.h"

#include <pthread.h>

#include <array>
#include <asio.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "hyper/trie/extension.h"
#include "src/protocol/trie_get_extension.h"

namespace hyper::protocol {
namespace {

using asio::ip::tcp;
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

// Names the calling thread (seen in top -H, perf, gdb).
void NameThread(const char* name) { pthread_setname_np(pthread_self(), name); }

std::string EndpointString(const tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// The remote IP address alone: what the per-address limit counts.
std::string RemoteAddress(const tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string();
}

// One thread that runs jobs in the order they were posted, urgent ones first: here Feed::Put
// of received blocks (the BLAKE2b of each block and the writes), which would otherwise keep the
// network thread from reading the next ones, and (urgent) the feed queries of Requests, which
// on the network thread would wait for the feed's lock while a Put holds it.
class StoreWorker {
 public:
  StoreWorker() : thread_([this] { Run(); }) {}
  ~StoreWorker() {
    {
      std::lock_guard g(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  StoreWorker(const StoreWorker&) = delete;
  StoreWorker& operator=(const StoreWorker&) = delete;

  void Post(std::function<void()> job, bool urgent = false) {
    {
      std::lock_guard g(mu_);
      (urgent ? urgent_ : jobs_).push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // Returns once every job posted before has run (urgent jobs run before, never after, it).
  void Drain() {
    if (std::this_thread::get_id() == thread_.get_id()) return;
    std::promise<void> done;
    auto fut = done.get_future();
    Post([&done] { done.set_value(); });
    fut.wait();
  }

 private:
  void Run() {
    NameThread("hyper-store");
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty() || !urgent_.empty(); });
      auto& from = urgent_.empty() ? jobs_ : urgent_;
      if (from.empty()) return;  // stopping, and nothing left
      auto job = std::move(from.front());
      from.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::deque<std::function<void()>> urgent_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace

struct TcpConnection;

// Lets callbacks installed on feeds (fetcher, append listener), which other threads may call
// at any time, reach the loop only while the Replicator is alive.
struct Gate {
  std::mutex mu;
  Replicator::Impl* impl = nullptr;
};

struct Replicator::Impl {
  explicit Impl(const ReplicationOptions& o) : options(o) {}

  ReplicationOptions options;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // Stores received blocks (Feed::Put) off the network thread.
  std::unique_ptr<StoreWorker> store = std::make_unique<StoreWorker>();
  // Completions of the stores, run on the loop in batches: one wake-up of the loop (and one
  // flush of the connections) for however many blocks were stored meanwhile.
  std::mutex stored_mu;
  std::vector<std::function<void()>> stored;

  // On the store thread.
  void AddCompletion(std::function<void()> fn) {
    bool first;
    {
      std::lock_guard g(stored_mu);
      first = stored.empty();
      stored.push_back(std::move(fn));
    }
    if (!first) return;  // a batch is already posted and has not started
    std::lock_guard g(gate->mu);
    if (gate->impl == nullptr) return;
    asio::post(io, [this] { RunCompletions(); });
  }

  // On the loop.
  void RunCompletions() {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard g(stored_mu);
      batch.swap(stored);
    }
    for (auto& fn : batch) fn();
    FlushAll();
  }
  std::thread thread;
  std::thread::id loop_id;

  // Everything below is touched on the loop only.
  struct FeedEntry {
    core::Feed* feed = nullptr;
    PeerOptions options;
    std::unique_ptr<FeedReplicator> rep;
    uint64_t listener = 0;
    // hypertrie's get extension: answers being computed on the store thread, blocks named by
    // answers and not yet here (shared with their Want callbacks), counters.
    size_t trie_gets_active = 0;
    std::shared_ptr<size_t> trie_prefetching = std::make_shared<size_t>(0);
    uint64_t trie_gets_sent = 0;
    uint64_t trie_gets_answered = 0;
    uint64_t trie_cache_seqs = 0;
  };
  std::vector<std::unique_ptr<FeedEntry>> feeds;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::set<std::shared_ptr<TcpConnection>> conns;
  std::map<std::string, size_t> conns_by_address;  // open connections by remote IP address
  Status first_error;
  // Rate limiting of Report, for each kind of report: when its last line went out, and how
  // many were held back since.
  struct ReportState {
    std::optional<std::chrono::steady_clock::time_point> last;
    uint64_t held_back = 0;
  };
  std::map<std::string, ReportState> reports;

  // Tells options.log that a remote connection was refused or dropped (`kind` says which), at
  // most once per kLogInterval for each kind; what is held back meanwhile is counted in the next
  // line of that kind.
  void Report(const std::string& kind, const std::string& line) {
    if (!options.log) return;
    ReportState& r = reports[kind];
    auto now = std::chrono::steady_clock::now();
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
    using R = decltype(fn());
    if (std::this_thread::get_id() == loop_id) return fn();
    std::promise<R> p;
    auto fut = p.get_future();
    asio::post(io, [&]() {
      if constexpr (std::is_void_v<R>) {
        fn();
        p.set_value();
      } else {
        p.set_value(fn());
      }
    });
    return fut.get();
  }

  FeedEntry* Find(core::Feed* feed) {
    for (auto& e : feeds) {
      if (e->feed == feed) return e.get();
    }
    return nullptr;
  }

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
  // are answered on the store thread (at most kMaxTrieGetsActive at once, as the reference),
  // and the blocks a peer's answer names are wanted (at most kMaxTriePrefetch at once).
  Status EnableTrieExtension(FeedEntry& entry) {
    core::Feed* feed = entry.feed;
    StoreWorker* worker = store.get();
    ExtensionHandler h;
    h.on_message = [this, worker, feed](uint64_t peer, ByteView payload) {
      FeedEntry* e = Find(feed);
      if (e == nullptr) return;
      TrieExtensionAction action = ParseTrieExtension(payload, *feed);
      e->trie_cache_seqs += action.download.size();
      for (uint64_t seq : action.download) {
        if (*e->trie_prefetching >= kMaxTriePrefetch) break;
        ++*e->trie_prefetching;
        e->rep->Want(BlockIndex(seq), [left = e->trie_prefetching](const Status&) { --*left; });
      }
      if (!action.get || e->trie_gets_active >= kMaxTrieGetsActive) return;
      ++e->trie_gets_active;
      worker->Post(
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
          /*urgent=*/true);
    };
    return entry.rep->RegisterExtension(std::string(trie::kExtensionName), std::move(h));
  }

  void StartConnection(tcp::socket socket, bool initiator);
  void DoAccept(tcp::acceptor* acceptor);
  void FlushAll();
};

struct TcpConnection : std::enable_shared_from_this<TcpConnection> {
  TcpConnection(Replicator::Impl* impl, tcp::socket s, bool initiator)
      : impl(impl),
        socket(std::move(s)),
        stream(StreamOptions{initiator, impl->options.key_pair, impl->options.limits}),
        idle(impl->io),
        keepalive(impl->io),
        handshake(impl->io),
        initiator(initiator) {
    remote = EndpointString(socket);
    address = RemoteAddress(socket);
  }

  Replicator::Impl* impl;
  tcp::socket socket;
  ProtocolStream stream;
  asio::steady_timer idle;
  asio::steady_timer keepalive;
  asio::steady_timer handshake;
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

  size_t pending_write() const { return writing.size() + stream.output_size(); }

  void Start() {
    std::weak_ptr<TcpConnection> weak = weak_from_this();
    // We write whole batches of frames ourselves: Nagle's algorithm would only hold back the
    // last small frame of a batch (a Request) until the previous segment is acknowledged.
    std::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    stream.on_discovery_key = [this](const crypto::Hash& dk) {
      for (auto& e : impl->feeds) {
        if (e->rep->discovery_key() == dk) (void)e->rep->Attach(&stream);
      }
    };
    stream.Start();
    for (auto& e : impl->feeds) (void)e->rep->Attach(&stream);
    auto handshake_timeout = impl->options.handshake_timeout;
    if (!initiator) {
      handshake_timeout = std::min(handshake_timeout, impl->options.accept_handshake_timeout);
    }
    handshake.expires_after(handshake_timeout);
    handshake.async_wait([weak, handshake_timeout](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed) return;
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

  void ArmIdle() {
    std::weak_ptr<TcpConnection> weak = weak_from_this();
    idle.expires_after(impl->options.timeout);
    idle.async_wait([weak](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed) return;
      self->Close(Status::Timeout("no data from the remote"));
    });
  }

  void ArmKeepAlive() {
    std::weak_ptr<TcpConnection> weak = weak_from_this();
    keepalive.expires_after(impl->options.timeout / 2);
    keepalive.async_wait([weak](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed) return;
      self->stream.Ping();
      auto now = std::chrono::steady_clock::now();
      for (auto& e : self->impl->feeds) e->rep->Tick(now, self->impl->options.timeout);
      self->impl->FlushAll();
      if (!self->closed) self->ArmKeepAlive();
    });
  }

  void Read() {
    auto self = shared_from_this();
    socket.async_read_some(asio::buffer(buf), [self](std::error_code ec, size_t n) {
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
    asio::async_write(socket, asio::buffer(writing), [self](std::error_code ec, size_t) {
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
    if (!why.ok() && impl->first_error.ok()) impl->first_error = why.Annotate(remote);
    stream.Destroy(why.ok() ? Status::Cancelled("connection closed") : why);
    impl->CollectAll();
    std::error_code ec;
    idle.cancel();
    keepalive.cancel();
    handshake.cancel();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    if (auto it = impl->conns_by_address.find(address); it != impl->conns_by_address.end()) {
      if (--it->second == 0) impl->conns_by_address.erase(it);
    }
    impl->conns.erase(shared_from_this());
  }
};

void Replicator::Impl::StartConnection(tcp::socket socket, bool initiator) {
  std::string refused;
  const std::string address = RemoteAddress(socket);
  if (conns.size() >= options.max_connections) {
    refused = std::to_string(conns.size()) + " connections are open (the limit)";
  } else if (!initiator && conns_by_address[address] >= options.max_connections_per_address) {
    refused = std::to_string(conns_by_address[address]) +
              " connections from that address are open (the limit)";
  }
  if (!refused.empty()) {
    Report("refused", std::string(initiator ? "did not keep the connection to "
                                            : "refused a connection from ") +
                          EndpointString(socket) + ": " + refused);
    if (conns_by_address[address] == 0) conns_by_address.erase(address);
    std::error_code ec;
    socket.close(ec);
    return;
  }
  auto c = std::make_shared<TcpConnection>(this, std::move(socket), initiator);
  conns.insert(c);
  conns_by_address[c->address]++;
  c->Start();
}

void Replicator::Impl::DoAccept(tcp::acceptor* acceptor) {
  acceptor->async_accept([this, acceptor](std::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) StartConnection(std::move(socket), false);
    DoAccept(acceptor);
  });
}

void Replicator::Impl::FlushAll() {
  std::vector<std::shared_ptr<TcpConnection>> all(conns.begin(), conns.end());
  for (auto& c : all) c->AfterEvent();
}

Replicator::Replicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Replicator>> Replicator::Create(const ReplicationOptions& options) {
  RETURN_IF_ERROR(crypto::Init());
  if (options.timeout.count() <= 0 || options.handshake_timeout.count() <= 0 ||
      options.accept_handshake_timeout.count() <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  if (options.max_connections == 0 || options.max_connections_per_address == 0) {
    return Status::InvalidArgument("connection limits must be positive");
  }
  auto impl = std::make_unique<Impl>(options);
  Impl* raw = impl.get();
  raw->work.emplace(raw->io.get_executor());
  std::promise<std::thread::id> started;
  auto fut = started.get_future();
  raw->thread = std::thread([raw, &started] {
    NameThread("hyper-net");
    started.set_value(std::this_thread::get_id());
    raw->io.run();
  });
  raw->loop_id = fut.get();
  raw->gate->impl = raw;
  return std::unique_ptr<Replicator>(new Replicator(std::move(impl)));
}

Replicator::~Replicator() {
  Impl& d = *impl_;
  {
    std::lock_guard g(d.gate->mu);
    d.gate->impl = nullptr;
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
    std::error_code ec;
    for (auto& a : d.acceptors) a->close(ec);
  });
  d.store.reset();  // runs what is left (no feed is left to store into) and stops
  d.work.reset();
  d.thread.join();
}

Status Replicator::AddFeed(core::Feed* feed, PeerOptions options) {
  Impl& d = *impl_;
  Status s = d.Run([&]() -> Status {
    if (d.Find(feed)) return Status::Exists("feed is already replicated");
    auto e = std::make_unique<Impl::FeedEntry>();
    e->feed = feed;
    e->options = options;
    e->rep = std::make_unique<FeedReplicator>(feed, options);
    // Received blocks are verified and written by Feed::Put on the store thread; the
    // completion comes back to the loop. RemoveFeed waits for the stores of the feed to end.
    Impl* impl = &d;
    StoreWorker* worker = d.store.get();
    BlockStore store;
    store.store = [impl, worker, feed](StoreJob job, std::function<void(Status)> done) {
      worker->Post([impl, feed, job = std::move(job), done = std::move(done)]() mutable {
        Status s = feed->Put(job.index, job.data, job.proof);
        // The block's buffer is freed with the completion, on the loop: the store thread
        // only verifies and writes.
        impl->AddCompletion(
            [s = std::move(s), done = std::move(done), data = std::move(job.data)] { done(s); });
      });
    };
    store.prepare = [impl, worker, feed](std::vector<uint64_t> indexes,
                                         std::function<void(std::vector<RequestInfo>)> done) {
      worker->Post(
          [impl, feed, indexes = std::move(indexes), done = std::move(done)]() mutable {
            std::vector<RequestInfo> infos;
            infos.reserve(indexes.size());
            for (uint64_t i : indexes) {
              bool local = feed->Has(BlockIndex(i));
              infos.push_back(RequestInfo{i, local, local ? 0 : feed->Digest(BlockIndex(i))});
            }
            impl->AddCompletion(
                [infos = std::move(infos), done = std::move(done)] { done(infos); });
          },
          /*urgent=*/true);
    };
    e->rep->SetBlockStore(std::move(store), kMaxStoringBlocks, kMaxStoringBytes);
    if (options.hypertrie_extension) RETURN_IF_ERROR(d.EnableTrieExtension(*e));
    for (auto& c : d.conns) (void)e->rep->Attach(&c->stream);
    d.feeds.push_back(std::move(e));
    d.FlushAll();
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  Impl* impl = impl_.get();
  std::shared_ptr<Gate> gate = impl->gate;
  // Calls from other threads reach the loop only while the replicator lives (see Gate).
  auto post = [gate](auto fn) {
    std::lock_guard g(gate->mu);
    if (gate->impl == nullptr) return false;
    asio::post(gate->impl->io, std::move(fn));
    return true;
  };
  uint64_t listener = feed->OnAppend([impl, feed, post](uint64_t length) {
    post([impl, feed, length] {
      if (auto* e = impl->Find(feed)) {
        e->rep->OnLocalAppend(length);
        impl->FlushAll();
      }
    });
  });
  d.Run([&] {
    if (auto* e = d.Find(feed)) e->listener = listener;
  });
  // Blocks missing locally are asked from the peers (sparse or not).
  std::chrono::milliseconds default_timeout = impl->options.fetch_timeout;
  feed->SetBlockFetcher(
      [impl, feed, post, default_timeout](BlockIndex index, std::chrono::milliseconds timeout) {
        struct Wait {
          std::mutex mu;
          std::condition_variable cv;
          bool done = false;
          Status status;
          uint64_t handle = 0;
        };
        auto w = std::make_shared<Wait>();
        auto finish = [w](Status s) {
          std::lock_guard g(w->mu);
          w->done = true;
          w->status = std::move(s);
          w->cv.notify_all();
        };
        bool posted = post([impl, feed, index, w, finish] {
          auto* e = impl->Find(feed);
          if (!e) {
            finish(Status::Cancelled("feed is no longer replicated"));
            return;
          }
          uint64_t h = e->rep->Want(index, finish);
          {
            std::lock_guard g(w->mu);
            w->handle = h;
          }
          impl->FlushAll();
        });
        if (!posted) return Status::Cancelled("replication stopped");
        if (timeout.count() <= 0) timeout = default_timeout;
        std::unique_lock lock(w->mu);
        if (w->cv.wait_for(lock, timeout, [&] { return w->done; })) return w->status;
        lock.unlock();
        post([impl, feed, w] {
          uint64_t handle = 0;
          {
            std::lock_guard g(w->mu);
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
  feed->SetBlockFetcher(nullptr);
  Status s = d.Run([&]() -> Status {
    for (auto it = d.feeds.begin(); it != d.feeds.end(); ++it) {
      if ((*it)->feed == feed) {
        feed->RemoveListener((*it)->listener);
        d.feeds.erase(it);  // closes its channels
        d.FlushAll();
        return Status::Ok();
      }
    }
    return Status::NotFound("feed is not replicated");
  });
  // No store into the feed may run once we return (the caller may close it).
  if (s.ok()) d.store->Drain();
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
  Impl& d = *impl_;
  std::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("not an IP address: " + host);
  return d.Run([&]() -> Result<uint16_t> {
    auto acceptor = std::make_unique<tcp::acceptor>(d.io);
    tcp::endpoint ep(address, port);
    std::error_code e;
    acceptor->open(ep.protocol(), e);
    if (!e) acceptor->set_option(tcp::acceptor::reuse_address(true), e);
    if (!e) acceptor->bind(ep, e);
    if (!e) acceptor->listen(asio::socket_base::max_listen_connections, e);
    if (e)
      return Status::IOError("listening on " + host + ":" + std::to_string(port) + ": " +
                             e.message());
    uint16_t bound = acceptor->local_endpoint(e).port();
    d.DoAccept(acceptor.get());
    d.acceptors.push_back(std::move(acceptor));
    return bound;
  });
}

Status Replicator::Connect(const std::string& host, uint16_t port,
                           std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  std::error_code ec;
  tcp::resolver resolver(d.io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Status::IOError("resolving " + host + ": " + ec.message());
  auto socket = std::make_shared<tcp::socket>(d.io);
  auto done = std::make_shared<std::promise<std::error_code>>();
  auto fut = done->get_future();
  asio::post(d.io, [socket, done, endpoints] {
    asio::async_connect(*socket, endpoints,
                        [done](std::error_code e, const tcp::endpoint&) { done->set_value(e); });
  });
  if (fut.wait_for(timeout) != std::future_status::ready) {
    d.Run([&] {
      std::error_code e;
      socket->close(e);
    });
    fut.wait();
    return Status::Timeout("connecting to " + host + ":" + std::to_string(port));
  }
  ec = fut.get();
  if (ec)
    return Status::IOError("connecting to " + host + ":" + std::to_string(port) + ": " +
                           ec.message());
  d.Run([&] { d.StartConnection(std::move(*socket), true); });
  return Status::Ok();
}

namespace {
// Polls `check` on the loop until it is true or the time is up.
template <typename F>
bool PollUntil(Replicator::Impl& d, std::chrono::milliseconds timeout, F check) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (d.Run(check)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}
}  // namespace

Status Replicator::WaitUntilIdle(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  if (!PollUntil(d, timeout, [&] { return d.conns.empty(); })) {
    return Status::Timeout("connections still open");
  }
  return d.Run([&] { return d.first_error; });
}

Status Replicator::WaitSynced(core::Feed* feed, std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  bool ok = PollUntil(d, timeout, [&] {
    auto* e = d.Find(feed);
    return e && e->rep->synced();
  });
  return ok ? Status::Ok() : Status::Timeout("feed not synced in time");
}

Status Replicator::WaitForLength(core::Feed* feed, uint64_t length,
                                 std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  bool ok = PollUntil(d, timeout, [&] {
    return feed->length() >= length && feed->Has(BlockIndex(0), BlockIndex(length));
  });
  return ok ? Status::Ok() : Status::Timeout("feed did not reach the length in time");
}

Status Replicator::Update(core::Feed* feed, std::chrono::milliseconds timeout,
                          const std::function<void(uint64_t)>& on_remote_length) {
  Impl& d = *impl_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t remote = 0;
  bool informed = PollUntil(d, timeout, [&] {
    auto* e = d.Find(feed);
    if (!e || !e->rep->remote_informed()) return false;
    remote = e->rep->remote_length();
    return true;
  });
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
                                   c->stream.bytes_received()});
    }
    return out;
  });
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
