// hyper::corestore::Corestore — many hypercores under one master key in one storage directory,
// laid out exactly as Node corestore 5.8 lays them out (docs/formats/corestore.md):
//
//   <dir>/master_key                      32 random bytes, created on first open
//   <dir>/<dk[0..2]>/<dk[2..4]>/<dk>/     one folder per core, <dk> = hex discovery key
//       key, name | secret_key, tree, data, signatures, bitfield
//   <dir>/dedup_index                     ours: the leaf index (docs/dedup.md); the reference
//                                         ignores it
//
// A core made from a name (Default(), or Get with a name) stores its name, not its secret key:
// the key pair is derived again from the master key and the name whenever it is opened.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/corestore/leaf_index.h"
#include "hyper/crypto/crypto.h"
#include "hyper/storage/file.h"

namespace hyper::corestore {

class StoreLock;

// How a process on disk shares the store with others (src/corestore/store_lock.h).
enum class Access {
  // Writes; no other process may have the store open meanwhile.
  kWrite,
  // Never writes to the store (no file created, no header, no bitfield page; a missing store
  // reads as an empty store, a missing core NotFound). Shares the store with other readers and with
  // one
  // kWriteBesideReaders writer; reads what is signed and stored.
  kRead,
  // Writes (appends only, as replication does) while readers read: a seed. Excludes every
  // other writer.
  kWriteBesideReaders,
};

struct CorestoreOptions {
  // On disk: the most file descriptors the store keeps open together.
  size_t max_open_files = 256;
  // On disk: lock the directory as `access` says (a conflicting process gets Busy naming the
  // writer that holds it). Without `lock`, `access` still decides whether the store writes.
  bool lock = true;
  Access access = Access::kWrite;
  // What this process is, for the Busy errors of the others ("hyperdrive seed").
  std::string holder;
  // Passed to every feed.
  bool durable = false;
  // Keep the store-wide leaf index (deduplication across cores on the wire, docs/dedup.md):
  // persisted in `dedup_index` when the store closes, rebuilt from the cores when that file is
  // missing (first open, or the last process did not close the store) or damaged. Never for
  // kRead.
  bool leaf_index = true;
  LeafIndexOptions leaf_index_options;
};

// How to find or make a core. Exactly one of key_pair, key, name is used, in that order;
// with none of them a new core with a random name is created.
struct CoreOptions {
  std::optional<crypto::KeyPair> key_pair;
  std::optional<crypto::PublicKey> key;
  std::optional<std::string> name;
  // When the core is not in the store yet: create it (true) or NotFound (false). A core given
  // by name or key pair is always created.
  bool create_if_missing = true;
  // Open a feed whose stored history can no longer all be proven read-only instead of failing
  // (core::FeedOptions::open_damaged), for the commands that inspect and repair it.
  bool open_damaged = false;
};

class Corestore {
 public:
  // A store in a directory on disk (created when missing, unless opened for reading).
  static Result<std::unique_ptr<Corestore>> OpenDirectory(const std::string& dir,
                                                          const CorestoreOptions& options = {});
  // A store over any FileFactory (memory, fault injection). `list` is unavailable there.
  static Result<std::unique_ptr<Corestore>> Open(storage::FileFactory files,
                                                 CorestoreOptions options = {});
  ~Corestore();
  Corestore(const Corestore&) = delete;
  Corestore& operator=(const Corestore&) = delete;

  const Key32& master_key() const { return master_key_; }

  // The key pair of the core named `name` (corestore's derivation, namespace "corestore").
  crypto::KeyPair DeriveKeyPair(ByteView name) const;

  // Opens (once; later calls share it) or creates a core.
  Result<std::shared_ptr<core::Feed>> Get(const CoreOptions& options);
  // The core named "default", or "<ns>" inside Namespace(ns) (corestore's `default()`).
  Result<std::shared_ptr<core::Feed>> Default(const std::string& namespace_name = "default");

  // Whether the store holds the core with this discovery key.
  bool Contains(const crypto::Hash& discovery_key);
  // Opens (once; later calls share it) the core the store holds under this discovery key, as a
  // remote that asks for it by discovery key finds it; NotFound when the store does not hold
  // it. Creates nothing.
  Result<std::shared_ptr<core::Feed>> GetByDiscoveryKey(const crypto::Hash& discovery_key);
  // The public keys of every core in the store (on-disk stores only), sorted.
  Result<std::vector<crypto::PublicKey>> List() const;

  // Closes every open core, and saves the leaf index.
  Status Close();

  // The store's leaf index (null when CorestoreOptions::leaf_index is off, or for kRead).
  std::shared_ptr<LeafIndex> leaf_index() const { return leaf_index_; }
  // How the leaf index was loaded: Ok from its file; NotFound when there was none, Corruption
  // saying what was wrong with it (in both cases it was rebuilt from the cores).
  const Status& leaf_index_load_status() const { return leaf_index_status_; }
  // Indexes block `index` of `feed` (a block that replication stored).
  void NoteBlockStored(const core::Feed& feed, BlockIndex index);

  // The namespaced name corestore derives for `name` inside `parent` ("parent:name").
  static std::string NamespacedName(const std::string& parent, const std::string& name);
  // "ab/cd/abcd…" for a discovery key.
  static std::string CoreDirectory(const crypto::Hash& discovery_key);

 private:
  Corestore(storage::FileFactory files, std::string dir, CorestoreOptions options);
  Status LoadMasterKey();
  // Loads (or rebuilds) the leaf index, and marks its file as in use (empties it) so that a
  // crash leaves it missing, to be rebuilt.
  Status LoadLeafIndex();
  Status LoadLeafIndexFile();
  // Scans every core of an on-disk store into a new leaf index.
  Status RebuildLeafIndex();
  // Indexes a core that was just opened, and follows its appends.
  void IndexOpenedCore(const std::shared_ptr<core::Feed>& feed);
  // REQUIRES: mu_ held. Writes the leaf index to its file (once).
  Status SaveLeafIndexLocked();
  Result<std::shared_ptr<core::Feed>> OpenCore(const crypto::Hash& discovery_key,
                                               const CoreOptions& options);
  std::optional<Result<crypto::KeyPair>> NamedKeyPair(storage::FileFactory& core_files,
                                                      const crypto::PublicKey& key) const;

  storage::FileFactory files_;
  std::string dir_;  // empty when not on disk
  CorestoreOptions options_;
  std::unique_ptr<StoreLock> lock_;
  Key32 master_key_{};
  std::mutex mu_;
  std::map<crypto::Hash, std::shared_ptr<core::Feed>> open_;  // by discovery key
  std::shared_ptr<LeafIndex> leaf_index_;
  Status leaf_index_status_;
  bool leaf_index_saved_ = false;
};

}  // namespace hyper::corestore
