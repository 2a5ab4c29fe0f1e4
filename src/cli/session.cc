#include "session.h"

#include <algorithm>

#include "hyper/trie/node.h"

namespace hyper::cli {

namespace {
thread_local service::Host* daemon_host = nullptr;
thread_local const ScopedDaemonHost::Remember* daemon_remember = nullptr;
thread_local const std::optional<DaemonMount>* daemon_mount = nullptr;
}  // namespace

ScopedDaemonHost::ScopedDaemonHost(service::Host& host, Remember remember,
                                   std::optional<DaemonMount> mount)
    : previous_host_(daemon_host),
      remember_(std::move(remember)),
      previous_remember_(daemon_remember),
      mount_(std::move(mount)),
      previous_mount_(daemon_mount) {
  daemon_host = &host;
  daemon_remember = &remember_;
  daemon_mount = &mount_;
}
ScopedDaemonHost::~ScopedDaemonHost() {
  daemon_host = previous_host_;
  daemon_remember = previous_remember_;
  daemon_mount = previous_mount_;
}
const DaemonMount* ScopedDaemonHost::Mount() {
  return daemon_mount != nullptr && daemon_host != nullptr && daemon_mount->has_value()
             ? &daemon_mount->value()
             : nullptr;
}
service::Host* ScopedDaemonHost::Current() { return daemon_host; }
Status ScopedDaemonHost::RememberNetwork(const crypto::PublicKey& key,
                                         const std::optional<service::NetworkConfig>& config) {
  if (daemon_remember == nullptr || !*daemon_remember) return Status::Ok();
  return (*daemon_remember)(key, config);
}

Result<std::unique_ptr<Session>> Session::Open(const std::string& root, Access access) {
  if (service::Host* host = ScopedDaemonHost::Current()) {
    return std::unique_ptr<Session>(new Session(host));
  }
  ASSIGN_OR_RETURN(auto store, OpenStore(root, access));
  return std::unique_ptr<Session>(new Session(std::move(store)));
}

Session::~Session() { (void)Close(); }

Status Session::Close() { return store_ ? store_->Close() : Status::Ok(); }

Result<OpenedDrive> Session::Hosted(const std::optional<crypto::PublicKey>& key, bool writer) {
  OpenedDrive out;
  ASSIGN_OR_RETURN(out.hosted, host_->Get(key));
  if (writer) out.writes = out.hosted->LockWrites();
  ASSIGN_OR_RETURN(auto acquired, out.hosted->Acquire());
  out.lock = std::move(acquired.first);
  out.head = acquired.second;
  out.path = "/";
  return out;
}

Result<OpenedDrive> Session::CreateDrive() {
  if (host_) return Hosted(std::nullopt, /*writer=*/true);
  Bytes name(32);
  crypto::RandomBytes(name);
  drive::DriveOptions options;
  options.namespace_name = ToHex(name);
  OpenedDrive out;
  ASSIGN_OR_RETURN(out.owned, drive::Drive::Open(*store_, options));
  out.head = out.owned.get();
  out.path = "/";
  return out;
}

Result<OpenedDrive> Session::OpenUrl(const std::string& url) { return Open(url, false); }

Result<OpenedDrive> Session::Open(const std::string& url_text, bool writer) {
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(url_text));
  OpenedDrive out;
  if (host_) {
    // As below, without waiting for the network: a drive the store does not hold, or holds no
    // block of, is not fetched (the daemon would look for it on the network for a while).
    if (!store().Contains(crypto::DiscoveryKey(url.key))) {
      return Status::NotFound("no drive " + ToHex(url.key) + " in this store");
    }
    corestore::CoreOptions co;
    co.key = url.key;
    co.create_if_missing = false;
    ASSIGN_OR_RETURN(auto metadata, store().Get(co));
    if (!metadata->writable() && metadata->length() == 0) {
      return Status::NotFound("the store holds no data of drive " + ToHex(url.key) +
                              " (nothing was ever fetched); use --peer HOST:PORT or `hyperdrive "
                              "sync`");
    }
    auto hosted = Hosted(url.key, writer && metadata->writable());
    if (!hosted.ok()) return hosted.status().Annotate("opening drive " + ToHex(url.key));
    out = std::move(hosted).value();
  } else {
    drive::DriveOptions options;
    options.key = url.key;
    options.create_if_missing = false;
    auto opened = drive::Drive::Open(*store_, options);
    if (!opened.ok()) {
      // NotFound from a drive the store holds (its header block lost, say) is not "no drive".
      if (opened.status().code() == Code::kNotFound &&
          !store_->Contains(crypto::DiscoveryKey(url.key))) {
        return Status::NotFound("no drive " + ToHex(url.key) + " in this store");
      }
      return opened.status().Annotate("opening drive " + ToHex(url.key));
    }
    out.owned = std::move(opened).value();
    out.head = out.owned.get();
  }
  out.path = url.path;
  if (!out.head->writable() && out.head->metadata_feed()->length() == 0) {
    // A replica that never received a block (a fetch killed before its first one, or left by
    // an older version) is not an empty drive.
    return Status::NotFound("the store holds no data of drive " + ToHex(url.key) +
                            " (nothing was ever fetched); use --peer HOST:PORT or `hyperdrive "
                            "sync`");
  }
  if (url.version) {
    uint64_t version = 0;
    const std::string& v = *url.version;
    bool numeric = !v.empty() && v.size() <= 19 &&
                   std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) {
      version = std::stoull(v);
    } else {
      auto tagged = out.head->GetTaggedVersion(v);
      if (!tagged.ok()) {
        if (tagged.status().code() == Code::kNotFound) {
          return Status::NotFound("no version or tag '" + v + "' in drive " + ToHex(url.key));
        }
        return tagged.status();
      }
      version = *tagged;
    }
    if (version == 0 || version > out.head->version()) {
      return Status::OutOfRange("version " + std::to_string(version) +
                                " does not exist (the drive is at " +
                                std::to_string(out.head->version()) + ")");
    }
    ASSIGN_OR_RETURN(out.checkout, out.head->Checkout(version));
  }
  return out;
}

Result<OpenedDrive> Session::OpenWritable(const std::string& url) {
  ASSIGN_OR_RETURN(OpenedDrive d, Open(url, true));
  if (d.checkout) return Status::NotWritable("a checkout of an older version is read-only");
  if (!d.head->writable()) {
    return Status::NotWritable("drive " + ToHex(d.head->key()) + " is read-only here");
  }
  return d;
}

Result<std::vector<crypto::PublicKey>> Session::ListDrives() {
  ASSIGN_OR_RETURN(auto keys, store().List());
  std::vector<crypto::PublicKey> drives;
  for (const auto& key : keys) {
    corestore::CoreOptions options;
    options.key = key;
    options.create_if_missing = false;
    auto feed = store().Get(options);
    if (!feed.ok() || (*feed)->length() == 0) continue;
    auto block = (*feed)->Get(BlockIndex(0), {.wait = false});
    if (!block.ok()) continue;
    auto header = trie::Header::Decode(*block);
    if (!header.ok() || header->type != "hypertrie" || header->subtype != "hyperdrive") {
      continue;
    }
    drives.push_back(key);
  }
  return drives;
}

}  // namespace hyper::cli
