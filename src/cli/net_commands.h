// Replication from the command line: `seed` serves drives over TCP, `sync` downloads them
// (and follows them with --live), and export/cat/ls/stat fetch what they read from a peer
// (--peer) before reading it from the local store.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core_commands.h"
#include "discovery.h"
#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"

namespace hyper::cli {

// "HOST:PORT" or "[V6]:PORT". Port 0 only when allow_zero (listening on any free port).
struct PeerAddress {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
};
Result<PeerAddress> ParsePeerAddress(std::string_view text, bool allow_zero = false);

// A CLI11 check for a HOST:PORT option (bad text is bad usage, exit 2).
CLI::Validator PeerAddressValidator(bool allow_zero = false);

// What a read command (export, cat, ls, stat) needs from a peer before it reads.
struct PeerFetch {
  enum class For { kExport, kCat, kLs, kStat };
  For what = For::kStat;
  std::string peer;  // HOST:PORT; empty: found through `discovery`
  DiscoveryArgs discovery;
  double timeout = 10;                 // seconds without progress before giving up
  std::optional<uint64_t> start, end;  // cat's byte range
};

// Connects to the peer (or to the peers the swarm finds for the drive's key) and makes local
// what the command will read of `url`: the drive's
// metadata up to the peer's latest version, the trie nodes of the lookup, and only the content
// blocks read (sparse). A drive the store does not hold becomes an empty replica first.
Status FetchFromPeer(const std::string& storage, const std::string& url, const PeerFetch& fetch);

// What `repair --peer` and `core verify --repair --peer` did to one core.
struct PeerRepairReport {
  uint64_t claimed_length = 0;  // the length signed and stored here
  uint64_t proven_length = 0;   // with tail_restored: what could be proven before
  bool tail_restored = false;   // the signed tree of the tail came back from the peer
  uint64_t valid = 0;           // local blocks whose bytes matched
  uint64_t invalid = 0;         // local blocks that did not (fetched again)
  uint64_t restored = 0;        // stored blocks not marked local that matched
  uint64_t fetched = 0;         // blocks fetched from the peer and verified
};

// Repairs `feed` (opened with open_damaged) from the peer at `peer` (HOST:PORT): a damaged
// feed whose committed tail cannot be proven gets the signed tree of that tail back from the
// peer's head block (verified; a peer holding less is an error and changes nothing), then
// blocks that fail their hash are marked missing and every missing block is fetched from the
// peer and verified. Afterwards the feed is whole, and writable when it has its secret key.
// Timeout when the peer sends nothing for `timeout` seconds.
Result<PeerRepairReport> RepairFromPeer(const std::shared_ptr<core::Feed>& feed,
                                        corestore::Corestore& store, const std::string& peer,
                                        double timeout);

// Whether the content of every file that changed in `d` since version `since` is local (a
// version that arrived from peers is read once it is).
bool ContentLocal(const drive::Drive& d, uint64_t since);

struct NetArgs {
  std::string url;                // sync
  std::vector<std::string> urls;  // seed, unseed: one or more
  // seed with a daemon running (daemon_seed.h): what it does with the drives.
  bool lookup = true, announce = true, remember = true;
  bool all = false;         // seed: every core of the store, on demand
  std::string listen;       // seed: HOST:PORT
  std::string peer;         // sync: HOST:PORT
  DiscoveryArgs discovery;  // seed, sync: the DHT (announce, look up)
  double timeout = 10;
  bool live = false;
  // seed: the bounds on the connections it accepts (ReplicationOptions).
  size_t max_connections = 256;
  size_t max_per_address = 8;
  double handshake_timeout = 3;  // seconds
};

// Adds `seed`, `unseed` and `sync`. REQUIRES: storage, args and action outlive app.
void AddNetCommands(CLI::App& app, const std::string& storage, NetArgs& args, Action* action);

}  // namespace hyper::cli
