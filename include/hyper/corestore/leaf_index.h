// hyper::corestore::LeafIndex — the store-wide index of deduplication across cores: from a
// block's leaf hash (crypto::LeafHash: BLAKE2b-256 of type 0, size, bytes, as the Merkle tree
// stores it) to one core of the store and block index that holds such a block locally. Before
// a block is downloaded, replication learns its leaf hash from the peer (a hash-only Request)
// and, when this index names a local copy, copies it instead (src/replication/store_dedup.h).
//
// The index is a hint, never trusted: whoever copies a block it names reads that block
// (verified against its own core's tree), compares its leaf hash with the one wanted, and
// stores it through Feed::Put, which verifies it against the receiving core's tree. A stale or
// wrong entry costs a fallback to the network, never wrong bytes. Its format on disk and how
// it is rebuilt: docs/dedup.md.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/crypto/crypto.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::corestore {

// The file, in a store's directory, that holds the leaf index while the store is closed.
inline constexpr char kLeafIndexFile[] = "dedup_index";

struct BlockLocation {
  crypto::Hash discovery_key{};  // of the core that holds the block
  uint64_t index = 0;
  bool operator==(const BlockLocation&) const = default;
};

struct LeafIndexOptions {
  // At most this many blocks are indexed (about 40 bytes of memory each, 20 on disk): past
  // it, new blocks are not indexed (and so not deduplicated) until a rebuild.
  size_t max_entries = size_t{1} << 20;
  // Smaller blocks are not indexed: asking a peer for a hash costs about as much as they do.
  uint64_t min_block_bytes = 4096;
};

// How much of a core the index covers: it holds every local block of the core as it was when
// it had `length` blocks, `downloaded` of them local. A core found otherwise is scanned again.
struct LeafCoverage {
  uint64_t length = 0;
  uint64_t downloaded = 0;
  bool operator==(const LeafCoverage&) const = default;
};

class LeafIndex {
 public:
  explicit LeafIndex(LeafIndexOptions options = {});

  // Remembers that core `dk` holds block `index`, whose leaf node has `leaf_hash` and `size`
  // bytes. The first location of a hash is kept; blocks under min_block_bytes and blocks past
  // max_entries are not added.
  void Add(const crypto::Hash& dk, uint64_t index, const crypto::Hash& leaf_hash, uint64_t size);
  // Indexes the local blocks of [start, end) of `feed` (leaf nodes read from its tree).
  Status AddBlocks(const core::Feed& feed, uint64_t start, uint64_t end);
  // Scans `feed` whole unless its coverage says the index already holds it; then records its
  // coverage. Returns whether it scanned.
  Result<bool> Cover(const core::Feed& feed);
  // Records that the index holds every local block of core `dk` as it is now.
  void SetCoverage(const crypto::Hash& dk, LeafCoverage coverage);
  std::optional<LeafCoverage> CoverageOf(const crypto::Hash& dk) const;

  // Where a block with this leaf hash may be held (compare the leaf before trusting it).
  std::optional<BlockLocation> Find(const crypto::Hash& leaf_hash) const;
  // Drops the entry of `leaf_hash` if it names `where` (found stale: freed, or not that block).
  void Forget(const crypto::Hash& leaf_hash, const BlockLocation& where);

  size_t size() const;
  bool empty() const { return size() == 0; }
  const LeafIndexOptions& options() const { return options_; }

  // The file format (docs/dedup.md), with its checksum.
  Bytes Encode() const;
  // Corruption, saying what is wrong, for anything that is not a whole, well-formed index.
  static Result<std::unique_ptr<LeafIndex>> Decode(ByteView file, LeafIndexOptions options = {});

 private:
  struct Entry {
    uint32_t core = 0;
    uint64_t index = 0;
  };
  static uint64_t KeyOf(const crypto::Hash& leaf_hash);
  uint32_t CoreIdLocked(const crypto::Hash& dk);

  const LeafIndexOptions options_;
  mutable std::mutex mu_;
  // By the first 8 bytes of the leaf hash: a collision only costs a failed comparison.
  std::unordered_map<uint64_t, Entry> entries_;
  std::vector<crypto::Hash> cores_;         // core id -> discovery key
  std::map<crypto::Hash, uint32_t> ids_;    // discovery key -> core id
  std::map<uint32_t, LeafCoverage> cover_;  // by core id
};

}  // namespace hyper::corestore
