// Reading a drive from one peer: the fetch step of the read commands with --peer (cat, ls,
// stat, export) and of repairs from a peer. A PeerReader holds one connection and replicates,
// sparsely, the feeds of the drives being read over it: the top drive at the peer's latest
// version, its content feed and its mounts (recursively). The Fetch* functions make local
// exactly what a command will read, so that the command then runs on local data.
//
//   replication::PeerReader reader(store, "127.0.0.1", 4000, "127.0.0.1:4000", 10s);
//   reader.Connect();  reader.Prepare(key);
//   replication::FetchFileRange(reader, drive, "/big.bin", 0, std::nullopt);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "hyper/protocol/tcp.h"
#include "hyper/util/status.h"

namespace hyper::replication {

using Millis = std::chrono::milliseconds;

// "1.5 s".
std::string SecondsText(Millis m);
// "cannot reach peer PEER: <why>", without the transport's own "connecting to ..." prefix.
Status Unreachable(const std::string& peer, const Status& s);
// Why the connection to `peer` is gone: the replication error that ended it (a handshake that
// did not finish, bad data, silence), or the peer hanging up.
Status Disconnected(protocol::Replicator& rep, const std::string& peer);
// The replication options of a reader whose waits are bounded by `timeout`.
protocol::ReplicationOptions ReaderReplicationOptions(Millis timeout);

// A connection to one peer, and the feeds of the drives being read over it. Every wait is
// bounded by `timeout` without progress, and fails early when the peer hangs up.
//
// Members are declared so that the replicator (which holds raw feed pointers) is destroyed
// before the feeds and drives, and those before the session's store.
class PeerReader {
 public:
  // Brings up at least one connection on the reader's replicator (an error says why not), and
  // returns what must stay alive while the reader reads (such as a swarm that keeps finding
  // peers; may be null). It is destroyed before the replicator.
  using Connector = std::function<Result<std::shared_ptr<void>>(protocol::Replicator& rep)>;

  // One peer at host:port. `name` says who the peer is in errors (usually "HOST:PORT").
  PeerReader(corestore::Corestore& store, const std::string& host, uint16_t port, std::string name,
             Millis timeout);
  // Peers found by `connect`; `name` says who they are in errors ("the peers of <key>").
  PeerReader(corestore::Corestore& store, Connector connect, std::string name, Millis timeout)
      : store_(store), connect_(std::move(connect)), name_(std::move(name)), timeout_(timeout) {}
  ~PeerReader() {
    found_.reset();
    rep_.reset();
  }
  PeerReader(const PeerReader&) = delete;
  PeerReader& operator=(const PeerReader&) = delete;

  Status Connect();

  // The drive `key` (created as an empty replica when the store does not hold it) with its
  // metadata at the peer's latest version, its content feed and its mounts (recursively),
  // all replicated sparsely over the connection.
  Result<drive::Drive*> Prepare(const crypto::PublicKey& key, int depth = 0);

  // The path (of the latest version of the top drive) about to be looked up: Prepare asks the
  // peer for the trie nodes of its lookup as early as it can.
  void SetLookupHint(const std::string& path);

  drive::Drive* Prepared(const crypto::PublicKey& key) const;

  std::vector<drive::Drive*> AllPrepared() const;

  // Block `index` of `feed`, fetched if missing.
  Status Fetch(core::Feed& feed, uint64_t index);

  // Downloads [start, end) of each range and waits until all of it is local.
  struct Range {
    core::Feed* feed;
    uint64_t start, end;
  };
  Status DownloadAll(std::vector<Range> ranges);

  // Makes local the content blocks holding bytes [start, end) of the file `st` in `feed`,
  // fetching only those. The block of a byte is found with the feed's Merkle tree (Seek), whose
  // nodes a sparse replica has only around the blocks it holds: so the block is guessed from the
  // file's block size (every block but the last has the same size when written by a stream),
  // fetched, and the seek checked; a wrong guess falls back to fetching the file's blocks in
  // order until the seek succeeds.
  Status EnsureRange(core::Feed& feed, const drive::Stat& st, uint64_t start, uint64_t end);

  // Replicates `feed` (sparsely) over the connection. `trie`: the feed holds a drive's trie (its
  // metadata): speak hypertrie's get extension.
  Status Track(const std::shared_ptr<core::Feed>& feed, bool trie = false);

  // Brings a replica's length up to the peer's (hypercore's update()): once the peer has said
  // what it has (it announces its head in answer to our first Want), the replicator fetches the
  // head block, whose proof carries the signed roots of the peer's whole feed.
  Status Update(core::Feed& feed, const std::function<void(uint64_t)>& on_remote_length = {});

  const std::string& name() const { return name_; }

 private:
  Status CheckConnected();

  // The block holding byte `pos` of the file, made local.
  Result<uint64_t> Locate(core::Feed& feed, const drive::Stat& st, uint64_t pos);

  // The size of every block but the last: the power of two that fits the Stat (the reference's
  // streams write 64 KiB or 512 KiB blocks), else the average.
  static uint64_t GuessBlockSize(const drive::Stat& st);

  corestore::Corestore& store_;
  Connector connect_;
  std::string name_;
  Millis timeout_;
  std::map<std::string, std::unique_ptr<drive::Drive>> drives_;
  std::map<std::string, std::shared_ptr<core::Feed>> feeds_;
  std::optional<std::string> lookup_hint_;
  std::unique_ptr<protocol::Replicator> rep_;
  std::shared_ptr<void> found_;  // what connect_ returned: destroyed first
};

// The drive (a prepared one) and path inside it that hold `path` of `top`, following symlinks
// and mounts; the content feed read for it is that drive's.
Result<std::pair<drive::Drive*, std::string>> ResolveHolder(PeerReader& reader, drive::Drive& top,
                                                            std::string path);
// Makes local the content blocks of bytes [start, end) of the file at `path` of `d` (to its
// end when `end` is nullopt), and only those. A directory needs nothing.
Status FetchFileRange(PeerReader& reader, drive::Drive& d, const std::string& path, uint64_t start,
                      std::optional<uint64_t> end);
// Makes local what an export of `path` reads: the metadata of every prepared drive, the content
// of the files below `path`, and everything in the drives it mounts.
Status FetchTree(PeerReader& reader, drive::Drive& top, const std::string& path);
// Makes local what a recursive listing of `path` reads: the metadata of every prepared drive.
Status FetchListing(PeerReader& reader, drive::Drive& top, const std::string& path);

}  // namespace hyper::replication
