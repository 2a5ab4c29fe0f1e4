#include "hyper/service/host.h"

#include <algorithm>

#include "hyper/protocol/noise.h"
#include "hyper/storage/file.h"

namespace hyper::service {

namespace {

swarm::NodeId TopicOf(const crypto::PublicKey& key) {
  const crypto::Hash dk = crypto::DiscoveryKey(key);
  swarm::NodeId topic{};
  std::copy(dk.begin(), dk.end(), topic.begin());
  return topic;
}

CoreCounters CountersOf(const Host& host, protocol::Replicator& rep, core::Feed& feed) {
  CoreCounters c;
  c.key = feed.key();
  c.peers = host.PeerCount(feed.key());
  c.total_blocks = feed.length();
  c.total_bytes = feed.byte_length();
  c.downloaded_blocks = feed.Downloaded();
  if (auto s = rep.stats(&feed); s.ok()) {
    c.uploaded_bytes = s->uploaded_bytes;
    c.downloaded_bytes = s->downloaded_bytes;
  }
  return c;
}

}  // namespace

// --- HostedDrive ---

HostedDrive::HostedDrive(Host& host, crypto::PublicKey key, std::unique_ptr<drive::Drive> drive)
    : host_(host), key_(key), drive_(std::move(drive)) {}

HostedDrive::~HostedDrive() {
  // The replication first: it reads the drive's feeds. Not while a Get of the same drive adds
  // them again (the feeds are the store's, shared with the next HostedDrive of this key).
  {
    std::lock_guard<std::mutex> opening(host_.open_mu_);
    replication_.reset();
  }
  drive_.reset();
}

crypto::Hash HostedDrive::discovery_key() const { return crypto::DiscoveryKey(key_); }

bool HostedDrive::writable() const {
  auto* self = const_cast<HostedDrive*>(this);
  std::lock_guard<std::mutex> lock(self->mu_);
  return drive_ && drive_->writable();
}

Status HostedDrive::StartReplication(bool sparse) {
  replication_.reset();
  protocol::PeerOptions po;
  po.live = true;
  po.sparse = sparse;
  const bool ours = drive_ && drive_->writable();
  // A drive we write is named to a peer only when it asks for it; one we read, to every peer.
  po.open_on = ours ? protocol::PeerOptions::OpenOn::kRemoteAsks
                    : protocol::PeerOptions::OpenOn::kEveryConnection;
  ASSIGN_OR_RETURN(replication_, replication::DriveReplication::Start(
                                     host_.store(), host_.replicator(), key_, po));
  return Status::Ok();
}

Result<std::pair<std::unique_lock<std::mutex>, drive::Drive*>> HostedDrive::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  RETURN_IF_ERROR(EnsureOpen());
  return std::make_pair(std::move(lock), drive_.get());
}

Status HostedDrive::EnsureOpen() {
  if (!replication_) RETURN_IF_ERROR(StartReplication(!mirrored_));
  if (drive_) return Status::Ok();
  // A replica with no block yet: learn the peers' length and fetch the header.
  corestore::CoreOptions co;
  co.key = key_;
  ASSIGN_OR_RETURN(auto meta, host_.store().Get(co));
  if (meta->length() == 0) {
    Status s = host_.replicator().Update(meta.get(), host_.options().fetch_timeout);
    if (!s.ok() || meta->length() == 0) {
      return Status::Timeout("drive " + ToHex(key_) + " is not available: no peer sent it " +
                             "within " +
                             std::to_string(host_.options().fetch_timeout.count() / 1000) + " s" +
                             (s.ok() ? "" : " (" + s.message() + ")"));
    }
  }
  drive::DriveOptions options;
  options.key = key_;
  ASSIGN_OR_RETURN(drive_, drive::Drive::Open(host_.store(), options));
  // The content feed and mounts are known now: follow them too.
  (void)replication_->Refresh();
  return Status::Ok();
}

Status HostedDrive::SetMirrored(bool mirrored) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mirrored == mirrored_ && replication_) return Status::Ok();
  mirrored_ = mirrored;
  RETURN_IF_ERROR(StartReplication(!mirrored_));
  if (drive_) (void)replication_->Refresh();
  // The new replication has no selection: the downloads ask for their blocks again.
  for (auto& [handle, d] : downloads_) RETURN_IF_ERROR(Select(d));
  return Status::Ok();
}

Status HostedDrive::Select(Download& d) {
  d.selections.clear();
  for (const auto& r : d.ranges) {
    auto handle =
        host_.replicator().StartDownload(r.feed.get(), BlockIndex(r.start), BlockIndex(r.end));
    if (!handle.ok() && handle.status().code() == Code::kNotFound && replication_) {
      // A mounted drive's feed the replication has not met yet: look again, then retry.
      (void)replication_->Refresh();
      handle =
          host_.replicator().StartDownload(r.feed.get(), BlockIndex(r.start), BlockIndex(r.end));
    }
    if (!handle.ok()) {
      Unselect(d);
      return handle.status().Annotate("downloading blocks of " + ToHex(r.feed->key()));
    }
    d.selections.push_back(*handle);
  }
  return Status::Ok();
}

void HostedDrive::Unselect(Download& d) {
  for (size_t i = 0; i < d.selections.size() && i < d.ranges.size(); i++) {
    host_.replicator().CancelDownload(d.ranges[i].feed.get(), d.selections[i]);
  }
  d.selections.clear();
}

Result<uint64_t> HostedDrive::AddDownload(std::vector<drive::ContentRange> ranges) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(EnsureOpen());
  Download d;
  d.ranges = std::move(ranges);
  RETURN_IF_ERROR(Select(d));
  const uint64_t handle = next_download_++;
  downloads_.emplace(handle, std::move(d));
  return handle;
}

void HostedDrive::RemoveDownload(uint64_t handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = downloads_.find(handle);
  if (it == downloads_.end()) return;
  Unselect(it->second);
  downloads_.erase(it);
}

std::pair<uint64_t, uint64_t> HostedDrive::DownloadProgress(uint64_t handle) const {
  auto* self = const_cast<HostedDrive*>(this);
  std::lock_guard<std::mutex> lock(self->mu_);
  auto it = downloads_.find(handle);
  if (it == downloads_.end()) return {0, 0};
  uint64_t held = 0;
  uint64_t total = 0;
  for (const auto& r : it->second.ranges) {
    const uint64_t end = std::min(r.end, std::max(r.start, r.feed->length()));
    held += end > r.start ? r.feed->Downloaded(BlockIndex(r.start), BlockIndex(end)) : 0;
    total += r.end - r.start;
  }
  return {held, total};
}

bool HostedDrive::mirrored() const {
  auto* self = const_cast<HostedDrive*>(this);
  std::lock_guard<std::mutex> lock(self->mu_);
  return mirrored_;
}

// --- Host ---

Host::Host(HostOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Host>> Host::Open(HostOptions options) {
  std::unique_ptr<Host> host(new Host(std::move(options)));
  const HostOptions& o = host->options_;
  if (o.memory_only) {
    storage::MemoryDirectory memory;
    ASSIGN_OR_RETURN(host->store_, corestore::Corestore::Open(memory.factory()));
  } else {
    if (o.store_dir.empty()) return Status::InvalidArgument("the host needs a store directory");
    corestore::CorestoreOptions co;
    co.access = corestore::Access::kWrite;
    co.holder = o.holder;
    auto store = corestore::Corestore::OpenDirectory(o.store_dir, co);
    if (!store.ok()) return store.status().Annotate("opening the store " + o.store_dir);
    host->store_ = std::move(store).value();
    // A damaged dedup index was rebuilt (docs/dedup.md): worth a line in the log.
    const Status& index = host->store_->leaf_index_load_status();
    if (index.code() == Code::kCorruption && o.log) o.log(index.message());
  }
  // Peers may ask for any core the store holds (and prove they know its key), as the
  // reference's corestore networking answers them.
  replication::StoreFeedsOptions so;
  so.peer.live = true;
  so.peer.sparse = true;
  so.peer.open_on = protocol::PeerOptions::OpenOn::kRemoteAsks;
  host->served_ = std::make_unique<replication::StoreFeeds>(*host->store_, so);

  protocol::ReplicationOptions ro;
  ro.feed_provider = host->served_->provider();
  ro.deduplicate = true;
  ro.fetch_timeout = o.fetch_timeout;
  ro.log = o.log;
  // One identity across restarts: derived from the store's master key, as the reference
  // daemon derives its replication key pair.
  const crypto::Hash seed =
      crypto::DeriveKey("hyperdrive-daemon", host->store_->master_key(), ToBytes("noise-key"));
  ro.key_pair = protocol::DhKeyPairFromSeed(seed);
  ASSIGN_OR_RETURN(host->replicator_, protocol::Replicator::Create(ro));
  if (o.network) {
    ASSIGN_OR_RETURN(host->swarm_, swarm::Swarm::Open(*host->replicator_, *o.network));
  }
  return host;
}

Host::~Host() {
  swarm_.reset();
  std::map<crypto::PublicKey, std::shared_ptr<HostedDrive>> pinned;
  std::map<crypto::PublicKey, std::shared_ptr<HostedDrive>> mirrored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pinned.swap(pinned_);
    mirrored.swap(mirrored_);
  }
  pinned.clear();  // outside mu_: a drive's end takes open_mu_
  mirrored.clear();
  replicator_.reset();
  served_.reset();
  if (store_) (void)store_->Close();
}

Result<std::shared_ptr<HostedDrive>> Host::Get(const std::optional<crypto::PublicKey>& key) {
  if (!key) {
    // A new drive in a corestore namespace of its own, as the reference daemon makes them.
    Bytes name(32);
    crypto::RandomBytes(name);
    drive::DriveOptions options;
    options.namespace_name = ToHex(name);
    ASSIGN_OR_RETURN(auto d, drive::Drive::Open(*store_, options));
    const crypto::PublicKey k = d->key();
    std::shared_ptr<HostedDrive> hosted(new HostedDrive(*this, k, std::move(d)));
    std::lock_guard<std::mutex> lock(mu_);
    drives_[k] = hosted;
    return hosted;
  }
  // One opening at a time: two replications of one drive would share its feeds, and the one
  // that lost the race would take them out of the replicator when it went.
  std::unique_lock<std::mutex> opening(open_mu_);
  std::unique_lock<std::mutex> lock(mu_);
  if (auto it = drives_.find(*key); it != drives_.end()) {
    if (auto held = it->second.lock()) return held;
  }
  lock.unlock();
  std::unique_ptr<drive::Drive> d;
  corestore::CoreOptions co;
  co.key = *key;
  co.create_if_missing = false;
  auto meta = store_->Get(co);
  if (meta.ok() && (*meta)->length() > 0) {
    drive::DriveOptions options;
    options.key = *key;
    ASSIGN_OR_RETURN(d, drive::Drive::Open(*store_, options));
  }
  std::shared_ptr<HostedDrive> hosted(new HostedDrive(*this, *key, std::move(d)));
  bool read_only = false;
  Status started;
  {
    std::lock_guard<std::mutex> dl(hosted->mu_);
    read_only = !hosted->drive_ || !hosted->drive_->writable();
    // Replicate it from now on: a drive read here fetches what it lacks from the peers.
    started = hosted->StartReplication(/*sparse=*/true);
  }
  if (!started.ok()) {
    // The drive's end takes open_mu_: drop it after the lock, never under it (a self-deadlock
    // that hung the whole daemon).
    opening.unlock();
    hosted.reset();
    return started;
  }
  lock.lock();
  drives_[*key] = hosted;
  // A drive we only read is looked up (not announced) unless configured otherwise, as the
  // reference daemon does.
  if (read_only && configs_.find(*key) == configs_.end()) {
    NetworkConfig lookup{.lookup = true, .announce = false, .remember = false};
    configs_[*key] = lookup;
    ApplyNetwork(*key, lookup);
  }
  if (auto it = configs_.find(*key);
      it != configs_.end() && (it->second.lookup || it->second.announce)) {
    pinned_[*key] = hosted;
  }
  return hosted;
}

std::vector<std::shared_ptr<HostedDrive>> Host::OpenDrives() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<HostedDrive>> out;
  for (const auto& [key, weak] : drives_) {
    if (auto d = weak.lock()) out.push_back(std::move(d));
  }
  return out;
}

Status Host::SetMirrored(const std::shared_ptr<HostedDrive>& d, bool mirrored) {
  RETURN_IF_ERROR(d->SetMirrored(mirrored));
  std::lock_guard<std::mutex> lock(mu_);
  if (mirrored) {
    mirrored_[d->key()] = d;
  } else {
    mirrored_.erase(d->key());  // `d` holds it: it does not end here
  }
  return Status::Ok();
}

void Host::ApplyNetwork(const crypto::PublicKey& key, const NetworkConfig& config) {
  if (!swarm_) return;
  const bool announce = config.announce && options_.announce;
  if (config.lookup || announce) {
    swarm_->Join(TopicOf(key), swarm::JoinOptions{.announce = announce, .lookup = config.lookup});
  } else {
    swarm_->Leave(TopicOf(key));
  }
}

Status Host::ConfigureNetwork(const crypto::PublicKey& key, const NetworkConfig& config) {
  // The drive stays open (replicated) while it is on the network.
  std::shared_ptr<HostedDrive> hosted;
  if (config.lookup || config.announce) {
    ASSIGN_OR_RETURN(hosted, Get(key));
  }
  std::shared_ptr<HostedDrive> unpinned;  // dropped after the lock (its end takes open_mu_)
  std::lock_guard<std::mutex> lock(mu_);
  auto it = configs_.find(key);
  if (it != configs_.end() && it->second == config) return Status::Ok();
  configs_[key] = config;
  ApplyNetwork(key, config);
  if (hosted) {
    pinned_[key] = hosted;
  } else if (auto p = pinned_.find(key); p != pinned_.end()) {
    unpinned = std::move(p->second);
    pinned_.erase(p);
  }
  return Status::Ok();
}

std::optional<NetworkConfig> Host::NetworkConfigOf(const crypto::PublicKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = configs_.find(key);
  if (it == configs_.end()) return std::nullopt;
  return it->second;
}

std::map<crypto::PublicKey, NetworkConfig> Host::NetworkConfigs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return configs_;
}

std::vector<crypto::PublicKey> Host::Active() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<crypto::PublicKey> out;
  for (const auto& [key, config] : configs_) {
    if (config.lookup || (config.announce && options_.announce)) out.push_back(key);
  }
  return out;
}

Result<std::vector<MountCounters>> Host::Stats(HostedDrive& d, bool recursive) {
  return d.RunIfOpen([&](drive::Drive& drive) -> Result<std::vector<MountCounters>> {
    std::vector<MountCounters> out;
    MountCounters top;
    top.path = "/";
    top.metadata = CountersOf(*this, *replicator_, *drive.metadata_feed());
    if (drive.content_feed()) {
      top.content = CountersOf(*this, *replicator_, *drive.content_feed());
    }
    out.push_back(top);
    if (!recursive) return out;
    ASSIGN_OR_RETURN(auto mounts, drive.GetAllMounts());
    for (const auto& m : mounts) {
      if (m.path == "/") continue;
      MountCounters mc;
      mc.path = m.path;
      corestore::CoreOptions co;
      co.key = m.metadata_key;
      co.create_if_missing = false;
      auto meta = store_->Get(co);
      if (!meta.ok()) continue;
      mc.metadata = CountersOf(*this, *replicator_, **meta);
      if (m.content_key) {
        co.key = *m.content_key;
        if (auto content = store_->Get(co); content.ok()) {
          mc.content = CountersOf(*this, *replicator_, **content);
        }
      }
      out.push_back(mc);
    }
    return out;
  });
}

uint32_t Host::PeerCount(const crypto::PublicKey& core_key) const {
  const crypto::Hash dk = crypto::DiscoveryKey(core_key);
  uint32_t n = 0;
  for (const auto& c : replicator_->connections()) {
    if (std::find(c.remote_channels.begin(), c.remote_channels.end(), dk) !=
        c.remote_channels.end()) {
      n++;
    }
  }
  return n;
}

std::vector<PeerInfo> Host::Peers() const {
  std::vector<PeerInfo> out;
  for (const auto& c : replicator_->connections()) {
    if (!c.remote_key) continue;  // handshake not done
    PeerInfo p;
    p.noise_key = *c.remote_key;
    p.address = c.remote;
    p.discovery_keys = c.remote_channels;
    out.push_back(std::move(p));
  }
  return out;
}

std::array<uint8_t, 32> Host::noise_key() const { return replicator_->public_key(); }

uint16_t Host::swarm_port() const { return swarm_ ? swarm_->port() : 0; }

}  // namespace hyper::service
