// hyper::core::Feed — a hypercore 9 append-only log, byte compatible on disk with Node
// hypercore 9.12 (the SLEEP files `key`, `secret_key`, `tree`, `data`, `signatures`,
// `bitfield`). The format is described in docs/formats/hypercore.md.
//
// Thread safety: every method may be called from any thread. Reads (Get, Has, Seek, Proof,
// RootHashes, Signature, ...) take a shared lock; writes (Append, Put, Clear, Audit) take an
// exclusive one. Listeners and the BlockFetcher are called without the lock held.
//
// Crash safety (our promise beyond the reference): Open() of a store left behind by a crash
// succeeds at the length its newest stored signature proves; a block whose bytes were lost or
// damaged is missing (fetchable again), never a reason to shorten the log. With
// FeedOptions::durable an Append that returned Ok survives power loss. A store whose signed
// and committed history can no longer be proven does not open silently shorter (see
// FeedOptions::open_damaged).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "hyper/crypto/crypto.h"
#include "hyper/storage/file.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::core {

// Blocks bigger than this are refused by Append (as the reference does: 8 MiB).
constexpr uint64_t kMaxBlockBytes = 8 * 1024 * 1024;

struct FeedOptions {
  // The public key of the feed. Without it, an empty store gets a new random key pair and a
  // non-empty store uses the key it holds.
  std::optional<crypto::PublicKey> key;
  // The secret key: makes the feed writable. Stored in `secret_key` when given.
  std::optional<crypto::SecretKey> secret_key;
  // When false, opening a store without a key is NotFound.
  bool create_if_missing = true;
  // Sync data, tree, signatures and bitfield before Append returns (see docs for the order).
  bool durable = false;
  // Throw away whatever the store holds and start a new feed (with `key` if given).
  bool overwrite = false;
  // Never write: Open writes no header, key or bitfield page (a store without a key is
  // NotFound, one that would need overwriting Corruption), what Open finds beyond the signed
  // length is forgotten in memory only, Close writes nothing, and Append, Put, Clear and Audit
  // are NotWritable. For a process that reads a store another process may be appending to.
  bool read_only = false;
  // A new feed (its files hold nothing) writes its headers and key with its first block (a
  // verified Put, an Append) instead of at Open. Over files created on first write
  // (storage::CreatedOnFirstWrite), a replica that never receives a verified block leaves
  // nothing on disk.
  bool defer_create = false;
  // The feed remembers in memory where each block it has seen lies in `data`, and whether its
  // bytes were checked since open (8 bytes a block, in pages of 256 blocks allocated on first
  // use), so that reading it again costs one positional read and no tree node. At most this
  // many blocks' worth of pages (64 MiB by default); beyond that, blocks are located through
  // the tree file as the reference does, and hashed at every read.
  uint64_t position_cache_blocks = uint64_t{1} << 23;
  // A feed whose stored history cannot all be proven any more (the bitfield says a longer
  // length was committed, and the files hold signatures, tree nodes or data beyond what the
  // newest verifying signature covers: a damaged `signatures` or `tree`) fails to open with
  // Corruption. With this flag it opens instead, read-only, at the proven length, with
  // damage() saying what is wrong: reads of what verifies work, nothing can be written until
  // DropUnprovableTail() (an explicit, user-confirmed repair) or a repair from a peer (a Put of
  // the peer's head block, see Put). Its bitfield is never written back while it is damaged.
  bool open_damaged = false;
};

// A node of the Merkle tree: its flat-tree index, its BLAKE2b-256 hash and the number of data
// bytes below it.
struct TreeNode {
  TreeIndex index;
  crypto::Hash hash{};
  uint64_t size = 0;
  bool operator==(const TreeNode&) const = default;
};

// What a remote needs to verify a block: the sibling/uncle nodes it lacks, in the order the
// reference sends them, and the signature of the tree they lead to (absent when the remote
// already trusts a node on the path, see `digest`).
struct Proof {
  std::vector<TreeNode> nodes;
  std::optional<crypto::Signature> signature;
};

struct ProofOptions {
  // The remote's digest of which nodes on the path it already has (hypercore's `digest`,
  // computed by Feed::Digest on the remote side). 0 = it has nothing.
  uint64_t digest = 0;
  // Include the block's own leaf node first (a hash-only request).
  bool hash = false;
};

// A signature stored at some block: it signs the tree of the first index+1 blocks.
struct StoredSignature {
  BlockIndex index;
  crypto::Signature signature{};
};

struct AuditReport {
  uint64_t valid = 0;     // local blocks whose bytes match their leaf
  uint64_t invalid = 0;   // local blocks that do not (marked missing by a repairing audit)
  uint64_t restored = 0;  // blocks not marked local whose bytes match (marked local by a repair)
};

struct GetOptions {
  // When false, a block that is not local is NotFound at once without asking the fetcher.
  bool wait = true;
  // How long the fetcher may take. 0 means no limit beyond the fetcher's own.
  std::chrono::milliseconds timeout{0};
  // Where the caller believes the block starts in the feed's data (e.g. a drive's
  // Stat::byte_offset for the file's first block). Used only when the block's position is not
  // remembered: the block's bytes are read there and checked against its leaf hash, and the
  // roots that would locate the block are not read when a remembered neighbour proves the
  // offset. A hint that is wrong (or unproven) never changes what is returned or remembered:
  // the block is then located through the tree as without a hint.
  std::optional<uint64_t> byte_offset{};
};

// Consecutive local blocks read by Feed::ReadRun with one positional read, not yet checked:
// their bytes lie back to back in the caller's buffer, and `leaf_hashes` are what the tree says
// they must hash to (crypto::LeafHash). See core::BlockReader, which checks them.
struct BlockRun {
  BlockIndex first{0};
  uint64_t offset = 0;  // where the run starts in the feed's data
  uint64_t bytes = 0;   // the sum of `sizes`
  std::vector<uint64_t> sizes;
  std::vector<crypto::Hash> leaf_hashes;
  // Whether each block was already verified since open (its bytes need no hashing).
  std::vector<uint8_t> verified;
  // Whether the run's place comes from held tree nodes only (then it may be remembered).
  bool held = true;
  uint64_t count() const { return sizes.size(); }
};

// The seam through which replication fetches missing blocks. Get() calls it (without the
// feed's lock) for a block that is not local; it must return Ok once the block has been Put()
// into the feed, or an error (Timeout, NotFound, Cancelled ...) which Get() returns.
// The default (no fetcher) makes a missing block NotFound.
using BlockFetcher = std::function<Status(BlockIndex index, std::chrono::milliseconds timeout)>;

class Feed {
 public:
  // Opens or creates the feed stored in files("key"), files("secret_key"), files("tree"),
  // files("data"), files("signatures"), files("bitfield").
  static Result<std::unique_ptr<Feed>> Open(storage::FileFactory files, FeedOptions options = {});

  ~Feed();
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  const crypto::PublicKey& key() const;
  const crypto::Hash& discovery_key() const;
  // True when the feed has its secret key.
  bool writable() const;
  // Number of blocks (known to exist; some may not be local on a replica).
  uint64_t length() const;
  // Sum of the sizes of the first length() blocks.
  uint64_t byte_length() const;

  // Appends one block; returns the new length. NotWritable without the secret key.
  Result<uint64_t> Append(ByteView block);
  // Appends a batch under one signature (exactly like the reference); returns the new length.
  // A batch of 128 KiB or more has its blocks hashed by the calling thread together with a
  // process-wide pool of worker threads (one fewer than the cores, at most 3; see
  // src/core/leaf_hasher.h) while the calling thread writes the data; the call returns once
  // all is done, and the blocks are not used afterwards.
  Result<uint64_t> Append(std::span<const ByteView> batch);

  // A local block, or: OutOfRange past length(), NotFound when not local and no fetcher
  // delivered it, Corruption when the stored bytes do not match their tree node. Each block is
  // hashed the first time it is read after open (appended and received blocks count as
  // checked); later reads trust it. Audit() always rehashes.
  Result<Bytes> Get(BlockIndex index, GetOptions options = {});
  // Up to `length` bytes from `offset` of a block (fewer at its end; OutOfRange when offset is
  // past it), with the same errors and fetching as Get. A block verified since open is read with
  // one positional read of just those bytes; otherwise the whole block is read and checked first.
  Result<Bytes> GetRange(BlockIndex index, uint64_t offset, uint64_t length,
                         GetOptions options = {});
  void SetBlockFetcher(BlockFetcher fetcher);

  // Reads blocks from `first` (below `end`) into `out` with one positional read: as many
  // consecutive blocks as are local, whose leaf nodes are held, and that fit whole into `out`
  // (at most 4096), without hashing them: the bytes must not be used before each block not
  // yet verified hashes to its leaf hash (core::BlockReader does that, on two cores). NotFound
  // when block `first` is not local (the caller then uses Get, which may fetch it),
  // OutOfRange past length(), InvalidArgument when it does not fit into `out`, Corruption
  // when `data` is cut short or a leaf is impossible.
  Result<BlockRun> ReadRun(BlockIndex first, BlockIndex end, MutableByteView out) const;

  // Whether the block is local (has its data).
  bool Has(BlockIndex index) const;
  // Whether every block of [start, end) is local.
  bool Has(BlockIndex start, BlockIndex end) const;
  // Number of local blocks in [start, end) (end clamped to length()).
  uint64_t Downloaded(BlockIndex start, BlockIndex end) const;
  uint64_t Downloaded() const;
  // The leaf nodes (each block's hash and size, as the tree stores them) of blocks [start,
  // end), read from the tree with one positional read; nothing is hashed. OutOfRange past
  // length(), NotFound when a leaf node is not stored (a sparse replica).
  Result<std::vector<TreeNode>> LeafNodes(BlockIndex start, BlockIndex end) const;
  // Whether the tree node is known locally.
  bool HasNode(TreeIndex index) const;
  // Where block `index` starts in the feed's data (length(): byte_length()), local or not.
  // OutOfRange past length(); NotFound when the tree nodes that locate it are not local.
  Result<uint64_t> ByteOffsetOf(BlockIndex index) const;

  // The block containing byte `offset`, and the offset inside it. offset == byte_length()
  // gives (length(), 0). OutOfRange beyond; NotFound when the needed tree nodes are not local.
  Result<std::pair<BlockIndex, uint64_t>> Seek(ByteOffset offset) const;

  // The root nodes of the tree of the first `length` blocks (left to right).
  Result<std::vector<TreeNode>> RootHashes(uint64_t length) const;
  // The first stored signature at a block >= index (the reference's `signature(index)`).
  // OutOfRange when index >= length(), NotFound when none is stored.
  Result<StoredSignature> Signature(BlockIndex index) const;
  // Verifies `signature` as the signature of the tree of the first index+1 blocks.
  Status VerifySignature(BlockIndex index, const crypto::Signature& signature) const;

  // The reference's `digest(index)`: which nodes on the path of block `index` we have, as sent
  // in a Request so that the remote's Proof leaves them out.
  uint64_t Digest(BlockIndex index) const;
  // The nodes and signature a remote needs to verify block `index` (which we must have the
  // leaf node of; NotFound otherwise).
  Result<Proof> MakeProof(BlockIndex index, ProofOptions options = {}) const;
  // Verifies `data` as block `index` with `proof` (nodes from the remote plus our own trusted
  // nodes, and the signature against key()), then stores data, nodes and signature. Nothing is
  // written when verification fails (InvalidSignature / Corruption). May grow length().
  // A damaged feed (see damage()) takes only a block whose proof proves a signed length of at
  // least claimed_length() over its proven history (a peer's head block, asked for with our
  // Digest): then the tail's nodes and signature are stored, the feed is healthy (and writable,
  // with its secret key) at that length, and the blocks of the tail not on the proof's path are
  // missing, to be fetched. Any other block is Corruption and changes nothing.
  Status Put(BlockIndex index, ByteView data, const Proof& proof);

  // Rehashes every local block and counts those that do not match their tree node; changes
  // nothing. With `repair`, a block that does not match is marked missing (so that it can be
  // fetched again from a peer, as the reference's audit does), and a block that is not marked
  // local but whose stored bytes match its leaf is marked local again.
  Result<AuditReport> Audit(bool repair = false);
  // Forgets the data of blocks [start, end) (frees the bytes in `data`); length() is unchanged.
  Status Clear(BlockIndex start, BlockIndex end);

  // Called after each append (local Append or a Put that grew the feed) has landed, with the new
  // length. Returns a handle for RemoveListener.
  using AppendListener = std::function<void(uint64_t new_length)>;
  uint64_t OnAppend(AppendListener listener);
  void RemoveListener(uint64_t handle);

  // Ok, or why the feed was opened read-only (FeedOptions::open_damaged): its bitfield says a
  // length was committed that the stored signatures and tree no longer prove.
  Status damage() const;
  // The length the damaged feed's bitfield claims (its committed length); length() otherwise.
  uint64_t claimed_length() const;
  // The explicit repair of a damaged feed: accepts the proven length() as the feed's length,
  // dropping what lies beyond it from every file, and makes the feed writable again. Blocks a
  // peer may hold beyond that length are lost to this store, and a later append forks from
  // them: callers must have the user's consent. Ok (and nothing done) on a healthy feed.
  Status DropUnprovableTail();

  // Flushes the bitfield and syncs every file.
  Status Flush();
  // Flushes and closes the files; every later call fails. Idempotent.
  Status Close();

  // Opaque implementation (src/core/feed.cc).
  struct Impl;

 private:
  friend class BlockReader;
  // Remembers the blocks of `run` as verified (their bytes were hashed and matched).
  void RememberVerified(const BlockRun& run) const;
  explicit Feed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper::core
