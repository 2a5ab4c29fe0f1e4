// Copying a block from elsewhere in the store instead of downloading it
// (include/hyper/replication/store_dedup.h, docs/dedup.md).
#include "hyper/replication/store_dedup.h"

namespace hyper::replication {

std::shared_ptr<StoreDedup> StoreDedup::For(corestore::Corestore& store) {
  if (!store.leaf_index()) return nullptr;
  return std::make_shared<StoreDedup>(store);
}

StoreDedup::StoreDedup(corestore::Corestore& store) : store_(store), index_(store.leaf_index()) {}

bool StoreDedup::Active() const { return index_ && !index_->empty(); }

bool StoreDedup::MayHold(const crypto::Hash& leaf_hash) const {
  return index_ && index_->Find(leaf_hash).has_value();
}

Status StoreDedup::Copy(core::Feed& feed, uint64_t index, const core::TreeNode& leaf,
                        const core::Proof& proof) {
  if (!index_) return Status::NotFound("no leaf index");
  auto where = index_->Find(leaf.hash);
  if (!where) return Status::NotFound("no block with that hash in the store");
  auto stale = [&](const std::string& why) {
    index_->Forget(leaf.hash, *where);
    stale_++;
    return Status::NotFound("dedup index entry for core " + ToHex(where->discovery_key) +
                            " block " + std::to_string(where->index) + " is stale: " + why);
  };
  if (where->discovery_key == feed.discovery_key() && where->index == index) {
    return stale("it names the block being fetched");
  }
  auto source = store_.GetByDiscoveryKey(where->discovery_key);
  if (!source.ok()) return stale(source.status().ToString());
  // The source's own tree says what the block is (the entry may be a collision of the 8-byte
  // prefix, or point at a block since freed); its bytes are checked against that leaf by Get.
  auto leaves = (*source)->LeafNodes(BlockIndex(where->index), BlockIndex(where->index + 1));
  if (!leaves.ok()) return stale(leaves.status().ToString());
  if (leaves->at(0).hash != leaf.hash || leaves->at(0).size != leaf.size) {
    return stale("its leaf is another block's");
  }
  core::GetOptions local_only;
  local_only.wait = false;
  auto bytes = (*source)->Get(BlockIndex(where->index), local_only);
  if (!bytes.ok()) return stale(bytes.status().ToString());
  // Verified against this feed's tree and the peer's signed proof, like a received block.
  Status s = feed.Put(BlockIndex(index), *bytes, proof);
  if (!s.ok()) return s.Annotate("copying block " + std::to_string(index) + " from the store");
  copied_++;
  index_->Add(feed.discovery_key(), index, leaf.hash, leaf.size);
  return Status::Ok();
}

void StoreDedup::Stored(core::Feed& feed, uint64_t index) {
  store_.NoteBlockStored(feed, BlockIndex(index));
}

}  // namespace hyper::replication
