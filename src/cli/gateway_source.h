// The drives `hyperdrive serve` reads: those the store holds whole are read from it; the others
// are read through peers (--peer, or the swarm by key), one PeerReader per drive, which fetches
// only the blocks a request reads and stores them (sparse).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "discovery.h"
#include "hyper/gateway/drive_handler.h"
#include "hyper/replication/peer_reader.h"
#include "session.h"

namespace hyper::cli {

struct GatewaySourceOptions {
  std::string peer;  // HOST:PORT; empty: the swarm (`discovery`)
  DiscoveryArgs discovery;
  std::chrono::milliseconds timeout{10000};  // a peer's silence before 504
  bool fetch = true;  // false: the store is opened read-only (another process writes to it)
};

class GatewaySource : public gateway::DriveSource {
 public:
  // REQUIRES: `session` outlives the source.
  GatewaySource(Session& session, GatewaySourceOptions options)
      : session_(session), options_(std::move(options)) {}
  ~GatewaySource() override;

  Result<std::shared_ptr<drive::Drive>> Open(const crypto::PublicKey& key) override;
  bool Remote(const crypto::PublicKey& key) override;
  Status FetchRange(const crypto::PublicKey& key, drive::Drive& d, const std::string& path,
                    uint64_t start, uint64_t end) override;
  Status FetchListing(const crypto::PublicKey& key, drive::Drive& d,
                      const std::string& path) override;

 private:
  // A drive read through peers. Fetches are made one at a time (the reader is not shared
  // between threads); reads of what is local run in parallel.
  struct RemoteDrive {
    std::mutex mu;
    std::unique_ptr<replication::PeerReader> reader;
    drive::Drive* drive = nullptr;  // owned by the reader
    bool failed = false;            // the connection is gone: the next Open makes a new one
    std::chrono::steady_clock::time_point followed;  // when the peer's length was last asked
  };
  struct Entry {
    std::shared_ptr<drive::Drive> local;
    std::shared_ptr<RemoteDrive> remote;
  };

  // How often the live version of a drive read through peers follows the peer's.
  static constexpr std::chrono::milliseconds kFollowInterval{1000};

  // The entry of drive `key`: its local drive, or its reader (connected now when it has none).
  Result<std::shared_ptr<drive::Drive>> OpenEntry(const crypto::PublicKey& key);
  // Asks the peer for the drive's latest version when that was last done longer ago than
  // kFollowInterval, so that the live drive follows the peer's (new files appear) while a
  // burst of requests costs one round trip a second.
  void FollowPeer(RemoteDrive& remote);
  // Whether the store holds drive `key` whole (or writes it): then no peer is needed.
  bool HeldWhole(const crypto::PublicKey& key);
  Result<std::shared_ptr<RemoteDrive>> Connect(const crypto::PublicKey& key);
  std::shared_ptr<RemoteDrive> RemoteOf(const crypto::PublicKey& key);

  Session& session_;
  const GatewaySourceOptions options_;
  std::mutex mu_;  // entries_, and opening drives
  std::map<crypto::PublicKey, Entry> entries_;
};

}  // namespace hyper::cli
