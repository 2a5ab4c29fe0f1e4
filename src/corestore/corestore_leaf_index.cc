// How a Corestore keeps its leaf index (include/hyper/corestore/leaf_index.h, docs/dedup.md):
// loaded from `dedup_index` at open (or rebuilt from the cores), fed with the blocks that are
// appended and stored, and written back when the store closes.
#include <atomic>
#include <filesystem>

#include "hyper/corestore/corestore.h"

namespace hyper::corestore {
namespace {

// A file larger than this is not read (it would index about 50 million blocks).
constexpr uint64_t kMaxLeafIndexFile = uint64_t{1} << 30;

}  // namespace

Status Corestore::LoadLeafIndex() {
  if (!options_.leaf_index || options_.access == Access::kRead) return Status::Ok();
  // The index is a hint: failing to read or mark its file never stops the store from opening.
  Status s = LoadLeafIndexFile();
  if (!s.ok()) {
    leaf_index_status_ = s.Annotate("the store's dedup index could not be read; rebuilt");
    if (!leaf_index_) (void)RebuildLeafIndex();
  }
  return Status::Ok();
}

Status Corestore::LoadLeafIndexFile() {
  ASSIGN_OR_RETURN(auto file, files_(kLeafIndexFile));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size == 0) {
    leaf_index_status_ = Status::NotFound(
        "the store has no dedup index (new, or not closed cleanly last time): rebuilt");
  } else if (size > kMaxLeafIndexFile) {
    leaf_index_status_ = Status::Corruption("the store's dedup index is larger than " +
                                            std::to_string(kMaxLeafIndexFile) + " bytes: rebuilt");
  } else {
    ASSIGN_OR_RETURN(Bytes bytes, storage::ReadBytes(*file, 0, size));
    auto decoded = LeafIndex::Decode(bytes, options_.leaf_index_options);
    if (decoded.ok()) {
      leaf_index_ = std::move(decoded).value();
      leaf_index_status_ = Status::Ok();
    } else {
      leaf_index_status_ =
          Status::Corruption(decoded.status().message() + "; rebuilt from the cores");
    }
  }
  if (!leaf_index_) RETURN_IF_ERROR(RebuildLeafIndex());
  // In use from now on: a crash leaves no index behind (the next open rebuilds it), never one
  // that misses what this process stores.
  if (size > 0) {
    RETURN_IF_ERROR(file->Truncate(0).Annotate("marking the dedup index in use"));
    RETURN_IF_ERROR(file->Sync());
  }
  return file->Close();
}

Status Corestore::RebuildLeafIndex() {
  leaf_index_ = std::make_shared<LeafIndex>(options_.leaf_index_options);
  if (dir_.empty()) return Status::Ok();  // cores are indexed as they are opened
  ASSIGN_OR_RETURN(auto keys, List());
  for (const auto& key : keys) {
    const crypto::Hash dk = crypto::DiscoveryKey(key);
    const std::string root = CoreDirectory(dk);
    // Files the core does not have (a name-derived core's `secret_key`) are not created: an
    // empty one in memory stands for them.
    storage::FileFactory core_files =
        [this, root](const std::string& name) -> Result<std::unique_ptr<storage::File>> {
      std::string path = root;
      path += '/';
      path += name;
      std::error_code ec;
      if (!std::filesystem::exists(std::filesystem::path(dir_) / path, ec)) {
        return storage::NewMemoryFile();
      }
      return files_(path);
    };
    core::FeedOptions fo;
    fo.key = key;
    fo.create_if_missing = false;
    fo.read_only = true;
    fo.position_cache_blocks = 0;
    auto feed = core::Feed::Open(std::move(core_files), fo);
    if (!feed.ok()) continue;  // a core that does not open is not indexed (it opens as it can)
    (void)leaf_index_->Cover(**feed);
    (void)(*feed)->Close();
  }
  return Status::Ok();
}

void Corestore::IndexOpenedCore(const std::shared_ptr<core::Feed>& feed) {
  if (!leaf_index_) return;
  (void)leaf_index_->Cover(*feed);
  if (!feed->writable()) return;  // a replica's blocks are indexed as they are stored
  // Appends: index the new blocks, and keep the coverage when it was whole.
  std::weak_ptr<LeafIndex> weak = leaf_index_;
  core::Feed* raw = feed.get();
  auto indexed = std::make_shared<std::atomic<uint64_t>>(feed->length());
  feed->OnAppend([weak, raw, indexed](uint64_t new_length) {
    auto index = weak.lock();
    if (!index) return;
    const uint64_t old = indexed->exchange(new_length);
    if (new_length <= old) return;
    if (!index->AddBlocks(*raw, old, new_length).ok()) return;
    if (index->CoverageOf(raw->discovery_key()) == LeafCoverage{old, old}) {
      index->SetCoverage(raw->discovery_key(), LeafCoverage{new_length, new_length});
    }
  });
}

void Corestore::NoteBlockStored(const core::Feed& feed, BlockIndex index) {
  if (leaf_index_) (void)leaf_index_->AddBlocks(feed, index.value, index.value + 1);
}

Status Corestore::SaveLeafIndexLocked() {
  if (!leaf_index_ || leaf_index_saved_) return Status::Ok();
  leaf_index_saved_ = true;
  // What the open cores hold now (scanned again only when they changed otherwise than by
  // appends and stores the index was told of).
  for (auto& [dk, feed] : open_) (void)leaf_index_->Cover(*feed);
  Bytes bytes = leaf_index_->Encode();
  ASSIGN_OR_RETURN(auto file, files_(kLeafIndexFile));
  RETURN_IF_ERROR(file->Truncate(0));
  RETURN_IF_ERROR(file->Write(0, bytes));
  RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

}  // namespace hyper::corestore
