#include "status_service.h"

#include <unistd.h>

#include "auth.h"

namespace hyper::daemon {

StatusService::StatusService(service::Host& host, std::string token, bool mounted)
    : host_(host), token_(std::move(token)), mounted_(mounted) {}

grpc::Status StatusService::status(grpc::ServerContext* ctx, const rpc::StatusRequest* /*req*/,
                                   rpc::StatusResponse* rsp) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  rsp->set_apiversion(kApiVersion);
  rsp->set_daemonversion(kDaemonVersion);
  rsp->set_schemaversion(kSchemaVersion);
  rsp->set_hyperdriveversion("10 (hyperdrive-cpp)");
  rsp->set_uptime(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - started_)
                                            .count()));
  rsp->set_holepunchable(false);  // no uTP or hole punching yet
  const auto key = host_.noise_key();
  rsp->set_noisekey(std::string(key.begin(), key.end()));
  // FUSE can be used (the kernel's device is there for us), and the root drive is mounted.
  rsp->set_fuseavailable(mounted_ || ::access("/dev/fuse", R_OK | W_OK) == 0);
  rsp->set_fuseconfigured(mounted_);
  return grpc::Status::OK;
}

grpc::Status StatusService::refreshFuse(grpc::ServerContext* ctx,
                                        const rpc::FuseRefreshRequest* /*req*/,
                                        rpc::FuseRefreshResponse* /*rsp*/) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  return {grpc::StatusCode::FAILED_PRECONDITION,
          "refreshFuse is not served: the root drive is mounted at start (where fuse-setup or "
          "--mountpoint said)"};
}

}  // namespace hyper::daemon
