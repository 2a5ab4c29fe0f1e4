// Deduplication across the cores of a store, on the wire (docs/dedup.md): the BlockCopier that
// a feed replicated with PeerOptions::dedup uses. Before a block is downloaded its leaf hash is
// asked of the peer (a hash-only Request); when the store's leaf index (corestore::LeafIndex)
// names a local block with that hash in any core, that block is read there (verified against
// its own core's tree) and stored with Feed::Put and the peer's proof, which verifies it
// against the receiving core's tree. A stale entry, a hash collision, or a copy that does not
// verify leaves nothing stored: the block is then downloaded as usual.
//
//   protocol::PeerOptions options;
//   options.dedup = replication::StoreDedup::For(store);  // null without a leaf index
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "hyper/corestore/corestore.h"
#include "hyper/protocol/replicator.h"

namespace hyper::replication {

class StoreDedup : public protocol::BlockCopier {
 public:
  // Null when the store keeps no leaf index. REQUIRES: store outlives every replicator that
  // uses the copier.
  static std::shared_ptr<StoreDedup> For(corestore::Corestore& store);
  explicit StoreDedup(corestore::Corestore& store);

  bool Active() const override;
  bool MayHold(const crypto::Hash& leaf_hash) const override;
  Status Copy(core::Feed& feed, uint64_t index, const core::TreeNode& leaf,
              const core::Proof& proof) override;
  void Stored(core::Feed& feed, uint64_t index) override;

  // Copies that were stored, and entries of the index found stale (dropped).
  uint64_t copied() const { return copied_.load(); }
  uint64_t stale() const { return stale_.load(); }

 private:
  corestore::Corestore& store_;
  std::shared_ptr<corestore::LeafIndex> index_;
  std::atomic<uint64_t> copied_{0};
  std::atomic<uint64_t> stale_{0};
};

}  // namespace hyper::replication
