// The replication state machine of one feed (hypercore 9's lib/replicate.js), sans-IO: a
// FeedReplicator holds what is shared by every peer of a feed (blocks reserved by an in-flight
// request, blocks somebody is waiting for, the selection to download), and attaches one Peer
// to each ProtocolStream it replicates over. Peers speak Want/Have (with RLE bitfields),
// Request/Data (with proof nodes and signatures, verified by Feed::Put), Status and Close
// exactly as the reference does, so that either side can be Node.
//
// Thread safety: none; everything runs on the thread that owns the streams (the network
// thread). The Feed itself is thread-safe and may be used from other threads meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/protocol/stream.h"

namespace hyper::protocol {

// Deduplication across the cores of a store (src/replication/store_dedup.h, docs/dedup.md): a
// feed replicated with one asks its peers for a block's hash first (a hash-only Request) and,
// when the store holds a block with that leaf hash, copies it instead of downloading it.
class BlockCopier {
 public:
  virtual ~BlockCopier() = default;
  // Whether asking for hashes can pay off at all (the store indexes some block). On the loop.
  virtual bool Active() const = 0;
  // Whether the store may hold a block with this leaf hash (a memory lookup). On the loop.
  virtual bool MayHold(const crypto::Hash& leaf_hash) const = 0;
  // Copies a block of the store whose leaf is `leaf` into `feed` as block `index` with
  // Feed::Put(index, bytes, proof), which verifies it against `feed`'s tree: Ok once stored;
  // otherwise (no usable copy, or it did not verify) nothing was stored and the block is to be
  // downloaded. On the store thread (or the loop, without a BlockStore).
  virtual Status Copy(core::Feed& feed, uint64_t index, const core::TreeNode& leaf,
                      const core::Proof& proof) = 0;
  // A block received from a peer was stored in `feed`: it may be copied from now on. On the
  // store thread (or the loop, without a BlockStore).
  virtual void Stored(core::Feed& feed, uint64_t index) = 0;
};

struct PeerOptions {
  // Keep the channel open after the download is done and announce new blocks as they come.
  bool live = false;
  // Download only the blocks asked for (Want / Feed::Get through the fetcher); otherwise
  // download every block a remote has.
  bool sparse = false;
  bool download = true;
  bool upload = true;
  // Requests in flight per peer (the reference's maxRequests).
  size_t max_requests = 16;
  // Replicator (tcp.h) only: the feed holds a hypertrie (a drive's metadata); speak its get
  // extension: answer peers' gets from what is here, download what their answers name, and
  // allow Replicator::AskTrieGet.
  bool hypertrie_extension = false;
  // Replicator (tcp.h) only: the connections on which we open the feed's channel (telling the
  // remote its discovery key). A remote that opens it itself (and so proves it knows the key)
  // is answered on every connection.
  enum class OpenOn {
    kEveryConnection,  // a reader: ask every peer for it
    kDialled,          // the connections we dial (to an upstream); answer the others
    kRemoteAsks,       // a server: never name it first
  };
  OpenOn open_on = OpenOn::kEveryConnection;
  // Deduplication across cores: ask for hashes before data (see BlockCopier). Null: never.
  std::shared_ptr<BlockCopier> dedup;
};

struct ReplicationStats {
  uint64_t downloaded_blocks = 0;
  uint64_t downloaded_bytes = 0;
  uint64_t uploaded_blocks = 0;
  uint64_t uploaded_bytes = 0;
  uint64_t rejected_blocks = 0;  // Data that did not verify (the stream was then destroyed)
  // hypertrie's get extension (filled in by Replicator::stats): gets we sent and answered,
  // and the seqs that the peers' answers named.
  uint64_t trie_gets_sent = 0;
  uint64_t trie_gets_answered = 0;
  uint64_t trie_cache_seqs = 0;
  // Deduplication (PeerOptions::dedup): hash-only Requests sent, and blocks (and their bytes)
  // copied from elsewhere in the store instead of downloaded.
  uint64_t hash_requests = 0;
  uint64_t copied_blocks = 0;
  uint64_t copied_bytes = 0;
};

// A received block on its way to Feed::Put.
struct StoreJob {
  BlockIndex index;
  Bytes data;
  core::Proof proof;
};
// A block to copy from elsewhere in the store (BlockCopier::Copy) on its way to the feed.
struct CopyJob {
  BlockIndex index;
  core::TreeNode leaf;
  core::Proof proof;
};
// What a Request for a block needs from the feed.
struct RequestInfo {
  uint64_t index = 0;
  bool local = false;   // Feed::Has(index): no need to ask
  uint64_t digest = 0;  // Feed::Digest(index), sent in the Request
};
// Runs the feed work of a download somewhere else than on the thread that owns the
// FeedReplicator (a store thread): Feed::Put of received blocks (the BLAKE2b of the block, the
// proof, the writes), and the feed queries that Requests need, which would otherwise wait for
// the feed's lock while a Put holds it. Each calls its `done` on the owning thread, later (never
// from within the call); `done` may come after the FeedReplicator is gone (it then does nothing)
// or never (when the transport shuts down).
struct BlockStore {
  // Feed::Put(job.index, job.data, job.proof) on the replicator's feed (which verifies before
  // it writes), then done(Put's status). Stores run in the order they were handed over.
  std::function<void(StoreJob job, std::function<void(Status)> done)> store;
  // For each index, whether the feed has the block and its Feed::Digest; then done(them).
  // Should run ahead of waiting stores (a Request waits for it).
  std::function<void(std::vector<uint64_t> indexes,
                     std::function<void(std::vector<RequestInfo>)> done)>
      prepare;
  // With PeerOptions::dedup: runs dedup->Copy(feed, job...) on the store thread, in order with
  // the stores, then done(its status).
  std::function<void(CopyJob job, std::function<void(Status)> done)> copy;
};

// Receives the messages of one extension (hypercore's registerExtension) on one feed.
struct ExtensionHandler {
  // `peer_id` names the peer it came from (for FeedReplicator::SendExtension); `payload` is at
  // most FeedReplicator::kMaxExtensionPayload bytes and only valid during the call. Runs on the
  // thread that owns the FeedReplicator; it may send extension messages from within.
  std::function<void(uint64_t peer_id, ByteView payload)> on_message;
};

class FeedReplicator {
 public:
  // Larger extension payloads are dropped before they reach a handler.
  static constexpr size_t kMaxExtensionPayload = 256 * 1024;

  // REQUIRES: feed outlives this object.
  FeedReplicator(core::Feed* feed, PeerOptions options);
  ~FeedReplicator();
  FeedReplicator(const FeedReplicator&) = delete;
  FeedReplicator& operator=(const FeedReplicator&) = delete;

  core::Feed* feed() const { return feed_; }
  const PeerOptions& options() const { return options_; }
  const crypto::Hash& discovery_key() const { return discovery_key_; }

  // Opens the feed's channel on `stream` and replicates over it until the channel closes.
  // REQUIRES: stream outlives the channel (destroy the stream before deleting it).
  Status Attach(ProtocolStream* stream);

  // Asks peers for block `index`; `done` is called once it is local (Ok), or with Cancelled
  // when CancelWant is called or this replicator dies. Called at once if the block is local.
  using WantCallback = std::function<void(Status)>;
  uint64_t Want(BlockIndex index, WantCallback done);
  void CancelWant(uint64_t handle);
  // Adds [start, end) to the blocks to download (sparse mode); end = UINT64_MAX for "all".
  // Returns a handle for Undownload (0 for an empty range, which selects nothing).
  uint64_t Download(BlockIndex start, BlockIndex end);
  // Takes back the selection that Download returned `handle` for: its blocks are no longer
  // asked for unless another selection or a Want covers them (requests in flight still land).
  // Unknown handles are ignored.
  void Undownload(uint64_t handle);

  // Extension messages. Names are told to each peer, sorted, in an Options message when its
  // channel opens, and a message's id is the index of its name in the sender's sorted list
  // (docs/formats/hypercore-protocol.md). Register before attaching streams; a name registered
  // twice, empty, or beyond the wire limits is InvalidArgument.
  Status RegisterExtension(const std::string& name, ExtensionHandler handler);
  // Sends `payload` on extension `name` to one peer, if it is open and listed that name in its
  // Options; returns whether it was sent.
  bool SendExtension(uint64_t peer_id, std::string_view name, ByteView payload);
  // The same to every such peer; returns how many were sent one.
  size_t BroadcastExtension(std::string_view name, ByteView payload);
  // How many of the open peers listed extension `name`.
  size_t PeersWithExtension(std::string_view name) const;

  // Announces blocks [old_length, new_length) that this process appended to its own feed.
  void OnLocalAppend(uint64_t new_length);

  // Destroys the streams of peers whose oldest request has gone unanswered for longer than
  // `request_timeout`. Call periodically.
  void Tick(std::chrono::steady_clock::time_point now, std::chrono::milliseconds request_timeout);

  // Deletes the peers whose channel closed. Call between events (not from a callback).
  void Collect();

  // Hands received blocks to `store.store` instead of calling Feed::Put inline (Put hashes the
  // block: on another thread, that work overlaps with receiving the next ones), and asks
  // `store.prepare` what Requests need from the feed. At most `max_blocks` blocks, or
  // `max_bytes` bytes (but always one block), wait in the store; while it is full, no new
  // Requests are sent. A block is counted downloaded, announced, and given to whoever waits for
  // it once reported stored; one that does not verify destroys the stream it came on (if still
  // open). Call before attaching streams.
  void SetBlockStore(BlockStore store, size_t max_blocks, uint64_t max_bytes);

  size_t peer_count() const { return peers_.size(); }
  // True when the non-sparse download has got every block the peers have (and at least one
  // peer has told us what it has).
  bool synced() const { return synced_; }
  const ReplicationStats& stats() const { return stats_; }
  // Largest length a peer has announced.
  uint64_t remote_length() const;
  // Whether some peer has told us what it has (answered our Want).
  bool remote_informed() const;

  class Peer;

 private:
  friend class Peer;
  void RemovePeer(Peer* peer);
  void OnBlockStored(uint64_t index, Peer* from);
  void UpdateAll();
  void StoreAsync(Peer* from, uint64_t index, Bytes data, core::Proof proof);
  void OnStored(uint64_t peer_id, uint64_t index, uint64_t bytes, const Status& s);
  // A hash answer named a leaf the store may hold: copy it (async with a BlockStore), then
  // OnCopied.
  void CopyAsync(Peer* from, uint64_t index, core::TreeNode leaf, core::Proof proof);
  void OnCopied(uint64_t peer_id, uint64_t index, uint64_t bytes, const Status& s);
  // Whether the next Request should ask for the hash first (and count it).
  bool AskHashFirst();
  // The outcome of a hash asked for: whether the block was found in the store.
  void NoteDedupOutcome(bool hit);
  void PrepareAsync(Peer* from, std::vector<uint64_t> indexes);
  void OnPrepared(uint64_t peer_id, const std::vector<RequestInfo>& infos);
  Peer* FindPeer(uint64_t peer_id) const;
  void OnExtension(Peer* from, const std::string& name, ByteView payload);
  // Our extensions, in name order (a map iterates sorted): the local id is the position.
  std::map<std::string, ExtensionHandler, std::less<>> extensions_;
  bool StoreFull() const;

  core::Feed* feed_;
  PeerOptions options_;
  crypto::Hash discovery_key_{};
  std::list<std::unique_ptr<Peer>> peers_;
  std::vector<std::unique_ptr<Peer>> dead_;  // closed peers, deleted at a safe point
  std::set<uint64_t> reserved_;              // blocks with a request in flight to some peer
  struct Waiter {
    uint64_t handle;
    WantCallback done;
  };
  std::map<uint64_t, std::vector<Waiter>> waiting_;  // block -> who waits for it
  std::map<uint64_t, uint64_t> handles_;             // handle -> block
  uint64_t next_handle_ = 1;
  // Sparse selections by Download's handle, and their union (start -> end, disjoint), which
  // the peers walk.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> selections_;
  uint64_t next_selection_ = 1;
  std::map<uint64_t, uint64_t> ranges_;
  void MergeSelections();
  uint64_t announced_length_ = 0;
  bool synced_ = false;
  ReplicationStats stats_;
  uint64_t next_peer_id_ = 1;
  // The asynchronous store (SetBlockStore): blocks handed to it and not yet reported stored
  // stay in reserved_ (nobody asks for them meanwhile), and so do blocks whose Request is being
  // prepared (they count as in flight).
  BlockStore store_;
  size_t max_storing_ = 0;
  uint64_t max_storing_bytes_ = 0;
  size_t storing_ = 0;
  uint64_t storing_bytes_ = 0;
  // Completions of the store hold a weak reference: they do nothing once this object is gone.
  std::shared_ptr<FeedReplicator*> alive_;
  // Deduplication: hashes asked for in a row that found nothing, and Requests since the last
  // hash asked for while such a run goes on (then only every kDedupProbe-th asks).
  uint64_t dedup_misses_ = 0;
  uint64_t dedup_skipped_ = 0;
};

}  // namespace hyper::protocol
