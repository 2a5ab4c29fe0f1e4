// The drives the daemon's HTTP gateway (`hyperdrive start --gateway`) reads: the drive host's,
// shared with the daemon's other edges (gRPC sessions, FUSE). A drive the store does not hold is
// opened as the host opens any drive (looked up on the network, its header fetched; 504 when no
// peer sends it in time). A replica's file is read a window at a time; each window is first
// read through the drive, which waits for the content feed's length and fetches the blocks it
// lacks from peers (the host's replication): a range fetches only its blocks.
#pragma once

#include <memory>
#include <string>

#include "hyper/gateway/drive_handler.h"
#include "hyper/service/host.h"

namespace hyper::daemon {

class HostDriveSource : public gateway::DriveSource {
 public:
  // REQUIRES: `host` outlives the source and every drive it gave.
  explicit HostDriveSource(service::Host& host) : host_(host) {}

  Result<std::shared_ptr<drive::Drive>> Open(const crypto::PublicKey& key) override;
  bool Remote(const crypto::PublicKey& key) override;
  Status FetchRange(const crypto::PublicKey& key, drive::Drive& d, const std::string& path,
                    uint64_t start, uint64_t end) override;
  Status FetchListing(const crypto::PublicKey&, drive::Drive&, const std::string&) override {
    return Status::Ok();
  }

 private:
  service::Host& host_;
};

}  // namespace hyper::daemon
