#include "gateway_source.h"

#include "net_commands.h"

namespace hyper::cli {

GatewaySource::~GatewaySource() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

bool GatewaySource::HeldWhole(const crypto::PublicKey& key) {
  drive::DriveOptions options;
  options.key = key;
  options.create_if_missing = false;
  auto d = drive::Drive::Open(session_.store(), options);
  if (!d.ok()) return false;
  if ((*d)->writable()) return true;
  auto whole = [](const core::Feed& f) {
    return f.length() > 0 && f.Has(BlockIndex(0), BlockIndex(f.length()));
  };
  if (!whole(*(*d)->metadata_feed())) return false;
  const auto& content = (*d)->content_feed();
  if (content && content->length() > 0 && !whole(*content)) return false;
  auto mounts = (*d)->GetAllMounts();
  return mounts.ok() && (mounts->empty() || (mounts->size() == 1 && mounts->front().path == "/"));
}

Result<std::shared_ptr<GatewaySource::RemoteDrive>> GatewaySource::Connect(
    const crypto::PublicKey& key) {
  auto remote = std::make_shared<RemoteDrive>();
  if (!options_.peer.empty()) {
    ASSIGN_OR_RETURN(PeerAddress peer, ParsePeerAddress(options_.peer));
    remote->reader = std::make_unique<replication::PeerReader>(
        session_.store(), peer.host, peer.port, peer.ToString(), options_.timeout);
  } else {
    remote->reader = std::make_unique<replication::PeerReader>(
        session_.store(), SwarmConnector(key, options_.discovery, options_.timeout),
        "the peers of " + ToHex(key), options_.timeout);
  }
  Status s = remote->reader->Connect();
  if (!s.ok()) {
    // No peer to read from within the timeout is the gateway's timeout (504).
    if (s.code() == Code::kNotFound || s.code() == Code::kIOError) {
      return Status::Timeout(s.message());
    }
    return s;
  }
  auto prepared = remote->reader->Prepare(key);
  if (!prepared.ok()) {
    // A peer that did not finish its handshake or hung up before sending the drive did not
    // answer in time either: the gateway's timeout (504).
    if (prepared.status().code() == Code::kIOError) {
      return Status::Timeout(prepared.status().message());
    }
    return prepared.status();
  }
  remote->drive = *prepared;
  remote->followed = std::chrono::steady_clock::now();  // Prepare read the peer's latest version
  return remote;
}

Result<std::shared_ptr<drive::Drive>> GatewaySource::Open(const crypto::PublicKey& key) {
  ASSIGN_OR_RETURN(std::shared_ptr<drive::Drive> d, OpenEntry(key));
  if (auto remote = RemoteOf(key); remote && remote->drive == d.get()) FollowPeer(*remote);
  return d;
}

void GatewaySource::FollowPeer(RemoteDrive& remote) {
  std::lock_guard lock(remote.mu);
  const auto now = std::chrono::steady_clock::now();
  if (now - remote.followed < kFollowInterval) return;
  remote.followed = now;
  Status s = remote.reader->Update(*remote.drive->metadata_feed());
  // A peer that went away: the known version is served now, and the next Open connects again.
  if (!s.ok() && s.code() != Code::kNotFound) remote.failed = true;
}

Result<std::shared_ptr<drive::Drive>> GatewaySource::OpenEntry(const crypto::PublicKey& key) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  if (e.local) return e.local;
  if (e.remote && !e.remote->failed) {
    // The drive lives as long as its reader, which lives as long as a request uses it.
    return std::shared_ptr<drive::Drive>(e.remote, e.remote->drive);
  }
  if (e.remote) {
    // Its connection failed. A new reader replicates the same feeds: only once the old one is
    // gone (no request uses it any more), never beside it.
    if (e.remote.use_count() > 1) {
      return Status::Timeout("the connection to the peers of " + ToHex(key) +
                             " was lost; it is made again once the requests using it end");
    }
    e.remote.reset();
  }
  const bool discover = !options_.peer.empty() || DiscoveryConfigured(options_.discovery);
  if (!options_.fetch || !discover || HeldWhole(key)) {
    drive::DriveOptions options;
    options.key = key;
    options.create_if_missing = false;
    auto opened = drive::Drive::Open(session_.store(), options);
    if (!opened.ok()) {
      entries_.erase(key);
      if (opened.status().code() == Code::kNotFound) {
        return Status::NotFound("no drive " + ToHex(key) + " in this store" +
                                (options_.fetch ? "" : " (and this gateway fetches nothing)"));
      }
      return opened.status();
    }
    e.local = std::shared_ptr<drive::Drive>(std::move(opened).value());
    return e.local;
  }
  auto remote = Connect(key);
  if (!remote.ok()) {
    entries_.erase(key);
    return remote.status();
  }
  e.remote = *remote;
  return std::shared_ptr<drive::Drive>(e.remote, e.remote->drive);
}

std::shared_ptr<GatewaySource::RemoteDrive> GatewaySource::RemoteOf(const crypto::PublicKey& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.remote;
}

bool GatewaySource::Remote(const crypto::PublicKey& key) { return RemoteOf(key) != nullptr; }

Status GatewaySource::FetchRange(const crypto::PublicKey& key, drive::Drive& d,
                                 const std::string& path, uint64_t start, uint64_t end) {
  auto remote = RemoteOf(key);
  if (!remote) return Status::Ok();
  std::lock_guard lock(remote->mu);
  Status s = replication::FetchFileRange(*remote->reader, d, path, start, end);
  if (!s.ok() && s.code() != Code::kNotFound) remote->failed = true;
  return s;
}

Status GatewaySource::FetchListing(const crypto::PublicKey& key, drive::Drive& d,
                                   const std::string& path) {
  auto remote = RemoteOf(key);
  if (!remote) return Status::Ok();
  std::lock_guard lock(remote->mu);
  Status s = replication::FetchListing(*remote->reader, d, path);
  if (!s.ok() && s.code() != Code::kNotFound) remote->failed = true;
  return s;
}

}  // namespace hyper::cli
