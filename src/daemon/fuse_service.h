// The Fuse service (rpc/fuse.proto, the reference's `client.fuse`): mounts, unmounts and
// describes drives by their path under the FUSE mountpoint of the daemon's root drive, as
// `hyperdrive mount <path>` does:
//   mount   <mountpoint>/a/b {key?, version?, seed?}  mounts drive `key` (a new writable drive
//           when there is none) at /a/b of the root drive (or of the drive mounted above it)
//   unmount <mountpoint>/a/b                          removes that mount
//   info    <mountpoint>/a/b/c                        the drive that holds the path: its key
//           (hex), whether it is writable here, `path` (the path in the root drive) and
//           `mountPath` (the path inside that drive), as the reference answers
// Paths under <mountpoint>/Network name drives by key and are read-only: `info` describes them,
// `mount` and `unmount` refuse them (PERMISSION_DENIED). The root drive's own mount is the
// daemon's: `unmount <mountpoint>` is refused (`hyperdrive stop` ends it), and `mount
// <mountpoint>` answers the root drive. Without a mount (no --mountpoint, no fuse-setup) every
// rpc answers FAILED_PRECONDITION saying how to get one.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "daemon/rpc/services.grpc.pb.h"
#include "hyper/service/host.h"

namespace hyper::daemon {

class FuseService final : public ::Fuse::Service {
 public:
  // Records (or forgets) a drive's network configuration, as CommandIo::remember_network.
  using RememberNetwork =
      std::function<Status(const crypto::PublicKey&, const std::optional<service::NetworkConfig>&)>;
  FuseService(service::Host& host, std::string token, RememberNetwork remember_network);

  // The daemon mounted its root drive `key` at `mountpoint`. Called before the service serves.
  void SetRootMount(std::string mountpoint, const crypto::PublicKey& key) {
    mountpoint_ = std::move(mountpoint);
    root_drive_ = key;
  }

  grpc::Status mount(grpc::ServerContext* ctx, const rpc::MountRequest* req,
                     rpc::MountResponse* rsp) override;
  grpc::Status unmount(grpc::ServerContext* ctx, const rpc::UnmountRequest* req,
                       rpc::UnmountResponse* rsp) override;
  grpc::Status info(grpc::ServerContext* ctx, const rpc::InfoRequest* req,
                    rpc::InfoResponse* rsp) override;

 private:
  // A request's path, placed.
  struct Place {
    std::string in_root;  // the path in the root drive ("/" for the mountpoint); "" under Network
    // Under Network: the drive named there, its version, and the path inside it.
    std::optional<crypto::PublicKey> network_key;
    std::optional<uint64_t> network_version;
    std::string network_name;  // "<key>[+version]"
    std::string network_path;  // "/" for the drive's own folder
  };
  Result<Place> PlaceOf(const std::string& path) const;

  service::Host& host_;
  const std::string token_;
  const RememberNetwork remember_network_;
  std::string mountpoint_;
  std::optional<crypto::PublicKey> root_drive_;
};

}  // namespace hyper::daemon
