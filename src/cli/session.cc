#include "session.h"

#include <algorithm>

#include "hyper/trie/node.h"

namespace hyper::cli {

Result<std::unique_ptr<Session>> Session::Open(const std::string& root, Access access) {
  ASSIGN_OR_RETURN(auto store, OpenStore(root, access));
  return std::unique_ptr<Session>(new Session(std::move(store)));
}

Session::~Session() { (void)Close(); }

Status Session::Close() { return store_ ? store_->Close() : Status::Ok(); }

Result<std::unique_ptr<drive::Drive>> Session::CreateDrive() {
  Bytes name(32);
  crypto::RandomBytes(name);
  drive::DriveOptions options;
  options.namespace_name = ToHex(name);
  return drive::Drive::Open(*store_, options);
}

Result<OpenedDrive> Session::OpenUrl(const std::string& url_text) {
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(url_text));
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
  OpenedDrive out;
  out.head = std::move(opened).value();
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
  ASSIGN_OR_RETURN(OpenedDrive d, OpenUrl(url));
  if (d.checkout) return Status::NotWritable("a checkout of an older version is read-only");
  if (!d.head->writable()) {
    return Status::NotWritable("drive " + ToHex(d.head->key()) + " is read-only here");
  }
  return d;
}

Result<std::vector<crypto::PublicKey>> Session::ListDrives() {
  ASSIGN_OR_RETURN(auto keys, store_->List());
  std::vector<crypto::PublicKey> drives;
  for (const auto& key : keys) {
    corestore::CoreOptions options;
    options.key = key;
    options.create_if_missing = false;
    auto feed = store_->Get(options);
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
