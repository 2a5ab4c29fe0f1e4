// Replication over TCP on the process's runtime (hyper/runtime/runtime.h): the one event loop
// thread of the process owns every socket, every ProtocolStream and every FeedReplicator of
// every Replicator; creating replicators or connections starts no thread. The public methods
// may be called from any other thread (they hand the work to the loop and wait for it); never
// from a replication callback. Received blocks are verified and written (Feed::Put: the BLAKE2b
// of the block, the proof, the writes) on the runtime's executor, in the order they arrived for
// each feed (feeds in parallel), so that the loop goes on reading and decrypting meanwhile; a
// block counts as downloaded (announced, handed to a waiting Feed::Get) once it is stored.
// RemoveFeed returns once no store into that feed is left running. Timeouts (connect,
// handshake, idle, keep-alive) run on ReplicationOptions::clock.
//
//   auto r = Replicator::Create().value();
//   r->AddFeed(feed.get());                  // serve and/or download this feed
//   uint16_t port = r->Listen("127.0.0.1", 0).value();  // accept peers ...
//   r->Connect("127.0.0.1", 4000);           // ... or dial one
//
// Sparse feeds (PeerOptions::sparse) get a Feed::SetBlockFetcher that asks the connected peers,
// so feed->Get(i, {.timeout = 2s}) downloads block i on demand. Non-live replication ends by
// itself once both sides have what they want (WaitUntilIdle); live replication keeps every
// connection open and announces appends.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/protocol/noise.h"
#include "hyper/protocol/replicator.h"
#include "hyper/runtime/clock.h"
#include "hyper/runtime/socket.h"
#include "hyper/util/status.h"

namespace hyper::protocol {

// How a feed provider (ReplicationOptions::feed_provider) answers: with the feed to replicate
// (the replicator keeps it alive while a peer replicates it) and how, or with nullptr (the
// remote is told nothing). Callable from any thread, once.
using FeedAnswer = std::function<void(std::shared_ptr<core::Feed> feed, PeerOptions options)>;

// Receives a stream extension's messages: the sender's Noise key and the payload (valid during
// the call only).
using StreamExtensionFn =
    std::function<void(const std::array<uint8_t, kDhBytes>& remote_key, ByteView payload)>;

struct ConnectionEvent {
  enum class Kind { kOpened, kClosed };
  Kind kind = Kind::kOpened;
  uint64_t id = 0;  // the same for a connection's two events
  bool initiator = false;
  std::string remote;                                       // "address:port"
  std::optional<std::array<uint8_t, kDhBytes>> remote_key;  // once the handshake is done
  // kClosed: why (Ok for a clean end; Exists for a duplicate or a connection to ourselves).
  Status status;
};

struct ReplicationOptions {
  // A connection with no bytes from the remote for this long is dropped; we send keep-alives
  // every half of it (the reference's defaults: 20 s and 10 s).
  std::chrono::milliseconds timeout{20000};
  // A handshake not done after this long is dropped.
  std::chrono::milliseconds handshake_timeout{10000};
  // Accepted connections only (a remote that opens sockets and says nothing must not hold a
  // slot for long): their handshake must be done after this long (the smaller of the two).
  std::chrono::milliseconds accept_handshake_timeout{3000};
  // At most this many connections in all; an accepted one beyond is closed at once.
  size_t max_connections = 256;
  // At most this many connections with one remote IP address; an accepted one beyond is
  // closed at once (so that one host cannot take every slot).
  size_t max_connections_per_address = 8;
  // Told, on the loop thread, why remote connections were refused or dropped; at most one
  // line every 5 s (the others are counted in the next line). Nothing is reported when empty.
  std::function<void(const std::string&)> log;
  // Used by the block fetcher when Feed::Get gives no timeout.
  std::chrono::milliseconds fetch_timeout{20000};
  Limits limits;
  // Our Noise identity; random when absent.
  std::optional<DhKeyPair> key_pair;
  // The clock of the timeouts above; runtime::Default().clock() when null. Tests give a
  // runtime::VirtualClock built on runtime::Default().loop() (timers must run on that loop).
  // REQUIRES: outlives the Replicator.
  runtime::Clock* clock = nullptr;
  // Makes the sockets (TCP connect and listen); runtime::Default().sockets() when null.
  // REQUIRES: outlives the Replicator; its callbacks run on runtime::Default().loop().
  runtime::SocketFactory* sockets = nullptr;
  // Answers a remote's channel open for a discovery key that no added feed has (a store that
  // serves what it holds on demand, see replication::StoreFeeds). Called on the loop, at most
  // once at a time per discovery key; must not block: it answers through `answer` later, from
  // any thread. A feed it gives is replicated on the connections whose remote opened its
  // channel (the remote's capability is checked then), and dropped once no peer replicates it.
  // Nothing is asked when empty.
  std::function<void(const crypto::Hash& discovery_key, FeedAnswer answer)> feed_provider;
  // Once a connection's handshake is done: close it when the remote's Noise key is ours (we
  // dialled ourselves), and of two connections with one remote key keep only the one dialled by
  // the side whose key is smaller (hyperswarm's rule, so that both sides close the same one).
  bool deduplicate = false;
  // Told on the loop when a connection's handshake is done and when a connection closes (a
  // swarm counts its peers with it). Must not block nor call the Replicator.
  std::function<void(const ConnectionEvent&)> on_connection;
};

// What a Dial tells, on the loop. Neither may block nor call the Replicator.
struct DialCallbacks {
  // The TCP connect's outcome: Timeout, IOError, Busy (refused by our own limits), or Ok
  // (the connection then replicates).
  std::function<void(const Status&)> connected;
  // After an Ok `connected`: the connection closed, and why (see ConnectionEvent::status).
  std::function<void(const Status&)> closed;
};

struct ConnectionInfo {
  bool initiator = false;
  std::string remote;  // "address:port"
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // The discovery keys of the channels the remote has opened (and not closed), answered or not.
  std::vector<crypto::Hash> remote_channels;
  // The remote's Noise public key, once the handshake is done.
  std::optional<std::array<uint8_t, kDhBytes>> remote_key;
};

class Replicator {
 public:
  // Starts no thread: uses runtime::Default() (started on first use).
  static Result<std::unique_ptr<Replicator>> Create(const ReplicationOptions& options = {});
  // Closes every connection and stops the thread; removes the fetchers and listeners it
  // installed on the feeds.
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Replicates `feed` on every connection, present and future.
  // REQUIRES: feed outlives this object (or RemoveFeed).
  // PeerOptions::open_on says on which connections we open its channel first.
  Status AddFeed(core::Feed* feed, PeerOptions options = {});
  Status RemoveFeed(core::Feed* feed);
  // Adds [start, end) to what a sparse feed downloads.
  Status Download(core::Feed* feed, BlockIndex start, BlockIndex end);
  // The same, taken back later with CancelDownload(feed, handle) (hyperdrive's download and
  // undownload). NotFound when the feed is not replicated.
  Result<uint64_t> StartDownload(core::Feed* feed, BlockIndex start, BlockIndex end);
  // Removes a selection StartDownload made; nothing when the feed is no longer replicated
  // (its selections went with it) or the handle is unknown.
  void CancelDownload(core::Feed* feed, uint64_t handle);

  // hypertrie's get extension (a feed added with PeerOptions::hypertrie_extension): asks every
  // peer that speaks it for the blocks a lookup of `key` in the trie at head seq `head` touches;
  // the blocks they name are then downloaded all at once. The lookup itself goes on as usual
  // (a peer that does not answer costs nothing). Returns how many peers were asked.
  Result<size_t> AskTrieGet(core::Feed* feed, uint64_t head, std::string_view key);

  // Stream extensions (hypercore-protocol's stream.registerExtension, which peersockets uses):
  // messages outside every feed, named, on every connection present and future. `on_message`
  // runs on the loop with the sender's Noise key; it must not block nor call the Replicator.
  // Exists when the name is registered already; Busy beyond Limits::max_extensions.
  Status RegisterStreamExtension(const std::string& name, StreamExtensionFn on_message);
  void UnregisterStreamExtension(const std::string& name);
  // Sends `payload` on extension `name` to the peer with Noise key `remote_key` (whether it
  // listens on that name is its business, as in the reference). NotFound when no connection
  // to it is open; InvalidArgument when the name is not registered here or the payload is
  // larger than ProtocolStream::kMaxStreamExtensionPayload.
  Status SendStreamExtension(const std::array<uint8_t, kDhBytes>& remote_key,
                             const std::string& name, ByteView payload);

  // Accepts connections; returns the port (useful with port 0).
  Result<uint16_t> Listen(const std::string& host, uint16_t port);
  // The same through another socket factory than ReplicationOptions::sockets (a swarm accepts
  // uTP connections on its UDP socket beside TCP ones). REQUIRES: `sockets` outlives the
  // Replicator, or its listener is closed (the Replicator closes it when destroyed).
  Result<uint16_t> Listen(runtime::SocketFactory& sockets, const std::string& host, uint16_t port);
  // Connects (and returns once the TCP connection is up, or Timeout / IOError).
  Status Connect(const std::string& host, uint16_t port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Dials without waiting: from any thread, the loop too. See DialCallbacks.
  void Dial(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
            DialCallbacks callbacks);
  // The same through another socket factory (the swarm races TCP and uTP). REQUIRES:
  // `sockets` outlives the attempt (until `connected` is told).
  void Dial(runtime::SocketFactory& sockets, const std::string& host, uint16_t port,
            std::chrono::milliseconds timeout, DialCallbacks callbacks);
  // The factory connections are made with (ReplicationOptions::sockets or the default).
  runtime::SocketFactory& sockets();
  // Our Noise public key (the same on every connection of this replicator).
  std::array<uint8_t, kDhBytes> public_key() const;

  // Waits until no connection is left; Timeout otherwise. Returns the first replication error
  // seen on a connection (bad data, timeouts), if any.
  Status WaitUntilIdle(std::chrono::milliseconds timeout);
  // Waits until `feed` has every block its peers announced (non-sparse feeds).
  Status WaitSynced(core::Feed* feed, std::chrono::milliseconds timeout);
  // Waits until `feed` has at least `length` blocks (known length) and all of them locally.
  Status WaitForLength(core::Feed* feed, uint64_t length, std::chrono::milliseconds timeout);

  // Brings a (sparse) feed's length up to what the peers have: once some peer has told us
  // its blocks, downloads the last one it has (which carries the signed length). Ok at once
  // when no peer has more than we do; Timeout when no peer says anything in time.
  // `on_remote_length`, when given, is called (on this thread) with the peers' length as soon
  // as it is known, before the last block is fetched (to overlap other requests with it).
  Status Update(core::Feed* feed, std::chrono::milliseconds timeout,
                const std::function<void(uint64_t remote_length)>& on_remote_length = nullptr);

  // Every event the loop handles for this replicator (bytes received, blocks stored, appends
  // announced, connections opened and closed) counts one, and so does Wake(). A caller that
  // follows replication waits for the next one instead of polling:
  //   uint64_t seen = rep->events();  /* look at the feeds */  rep->WaitForEvent(seen, 1s);
  uint64_t events() const;
  // Returns true once events() has passed `seen`, false after `timeout`.
  bool WaitForEvent(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Counts an event and wakes the waiters (from any thread: a signal, a drive change).
  void Wake();

  std::vector<ConnectionInfo> connections() const;
  // How many feeds are replicated: added, and given by the feed provider and still in use.
  size_t feed_count() const;
  Result<ReplicationStats> stats(core::Feed* feed) const;

  struct Impl;

 private:
  explicit Replicator(std::shared_ptr<Impl> impl);
  // Shared with the handlers still queued on the loop, which may run after the destructor.
  std::shared_ptr<Impl> impl_;
};

// Connects to host:port, replicates `feeds` (non-live, everything) until both sides are done,
// and disconnects. Timeout if that takes longer than `timeout`.
Status ReplicateOnce(const std::vector<core::Feed*>& feeds, const std::string& host, uint16_t port,
                     std::chrono::milliseconds timeout, const ReplicationOptions& options = {});

}  // namespace hyper::protocol
