#include "hyper/replication/drive_replication.h"

#include <atomic>
#include <shared_mutex>

#include "hyper/replication/store_dedup.h"
#include "hyper/runtime/runtime.h"
#include "hyper/util/bytes.h"

namespace hyper::replication {
namespace {
// Mounts nested deeper than this are not followed (a cycle of mounts ends here too).
constexpr int kMaxDepth = 16;
}  // namespace

// What the append listeners and the queued looks share with the DriveReplication: a listener
// copied by a feed just before it was removed may still run after the destructor, and a look may
// be queued then; both find `owner` null. A look holds `running` (shared) while it uses the
// owner; the destructor takes it exclusively after clearing `owner`.
struct DriveReplication::Shared {
  std::atomic<DriveReplication*> owner;
  std::shared_mutex running;
  std::atomic<bool> look_queued{false};
};

DriveReplication::DriveReplication(corestore::Corestore& store, protocol::Replicator& rep,
                                   const crypto::PublicKey& key, protocol::PeerOptions options)
    : store_(store),
      rep_(rep),
      key_(key),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>()) {
  shared_->owner = this;
}

Result<std::unique_ptr<DriveReplication>> DriveReplication::Start(corestore::Corestore& store,
                                                                  protocol::Replicator& rep,
                                                                  const crypto::PublicKey& key,
                                                                  protocol::PeerOptions options) {
  std::unique_ptr<DriveReplication> dr(new DriveReplication(store, rep, key, std::move(options)));
  RETURN_IF_ERROR(dr->Refresh().status());
  return dr;
}

DriveReplication::~DriveReplication() {
  shared_->owner = nullptr;
  std::vector<std::pair<core::Feed*, uint64_t>> listeners;
  {
    std::lock_guard lock(mu_);
    listeners.swap(listeners_);
  }
  for (auto& [feed, handle] : listeners) feed->RemoveListener(handle);
  // A look that runs uses this object: let it end (it returns early while stopping). Looks that
  // start later find no owner.
  { std::unique_lock wait(shared_->running); }
  for (core::Feed* f : feeds()) (void)rep_.RemoveFeed(f);
}

Result<bool> DriveReplication::Refresh() {
  std::lock_guard lock(scan_mu_);
  return Scan(key_, 0);
}

void DriveReplication::OnMetadataAppend(const std::shared_ptr<Shared>& shared) {
  // One look at a time is enough: appends that come while one waits are seen by it.
  if (shared->owner.load() == nullptr || shared->look_queued.exchange(true)) return;
  runtime::Default().callbacks().Post(shared.get(), [shared] {
    shared->look_queued = false;
    std::shared_lock running(shared->running);
    DriveReplication* self = shared->owner.load();
    if (self == nullptr) return;
    auto added = self->Refresh();
    if (added.ok() && *added) self->rep_.Wake();
  });
}

Result<bool> DriveReplication::Scan(const crypto::PublicKey& key, int depth) {
  // A look that runs while the destructor waits for it stops early.
  if (depth > kMaxDepth || shared_->owner.load() == nullptr) return false;
  const std::string id = ToHex(key);
  bool added = false;
  if (!metas_.count(id)) {
    corestore::CoreOptions co;
    co.key = key;
    ASSIGN_OR_RETURN(auto meta, store_.Get(co));
    protocol::PeerOptions meta_options = options_;
    meta_options.hypertrie_extension = true;  // answer peers' lookups in one round trip
    meta_options.dedup = nullptr;             // small blocks: a hash costs as much as they do
    RETURN_IF_ERROR(rep_.AddFeed(meta.get(), meta_options));
    uint64_t handle = meta->OnAppend([shared = shared_](uint64_t) { OnMetadataAppend(shared); });
    std::lock_guard lock(mu_);
    listeners_.emplace_back(meta.get(), handle);
    metas_[id] = meta;
    added = true;
  }
  if (metas_[id]->length() == 0) return added;  // more once the header arrives (an append)
  drive::Drive* d = nullptr;
  if (auto it = drives_.find(id); it != drives_.end() && it->second->content_feed()) {
    d = it->second.get();
  } else {
    drive::DriveOptions o;
    o.key = key;
    ASSIGN_OR_RETURN(auto opened, drive::Drive::Open(store_, o));
    d = opened.get();
    std::lock_guard lock(mu_);
    drives_[id] = std::move(opened);
  }
  if (d->content_feed()) {
    std::string cid = ToHex(d->content_feed()->key());
    if (!contents_.count(cid)) {
      // Content is deduplicated across the store's cores unless the caller chose otherwise.
      protocol::PeerOptions content_options = options_;
      if (!content_options.dedup) content_options.dedup = StoreDedup::For(store_);
      RETURN_IF_ERROR(rep_.AddFeed(d->content_feed().get(), content_options));
      std::lock_guard lock(mu_);
      contents_[cid] = d->content_feed();
      added = true;
    }
  }
  auto mounts = d->GetAllMounts();
  if (!mounts.ok()) return added;  // metadata not all here yet: looked at again on the next append
  for (const auto& m : *mounts) {
    if (m.path == "/") continue;
    ASSIGN_OR_RETURN(bool more, Scan(m.metadata_key, depth + 1));
    added = added || more;
  }
  return added;
}

std::vector<core::Feed*> DriveReplication::feeds() const {
  std::lock_guard lock(mu_);
  std::vector<core::Feed*> out;
  for (const auto& [id, f] : metas_) out.push_back(f.get());
  for (const auto& [id, f] : contents_) out.push_back(f.get());
  return out;
}

drive::Drive* DriveReplication::drive(const crypto::PublicKey& key) const {
  std::lock_guard lock(mu_);
  auto it = drives_.find(ToHex(key));
  return it == drives_.end() ? nullptr : it->second.get();
}

uint64_t DriveReplication::downloaded() const {
  uint64_t n = 0;
  for (core::Feed* f : feeds()) n += f->Downloaded();
  return n;
}

uint64_t DriveReplication::length() const {
  uint64_t n = 0;
  for (core::Feed* f : feeds()) n += f->length();
  return n;
}

}  // namespace hyper::replication
