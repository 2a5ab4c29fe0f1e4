#include "status_service.h"

#include "auth.h"

namespace hyper::daemon {

StatusService::StatusService(service::Host& host, std::string token)
    : host_(host), token_(std::move(token)) {}

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
  // This daemon has no FUSE layer yet.
  rsp->set_fuseavailable(false);
  rsp->set_fuseconfigured(false);
  return grpc::Status::OK;
}

grpc::Status StatusService::refreshFuse(grpc::ServerContext* ctx,
                                        const rpc::FuseRefreshRequest* /*req*/,
                                        rpc::FuseRefreshResponse* /*rsp*/) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  return {grpc::StatusCode::FAILED_PRECONDITION, "this daemon has no FUSE layer yet"};
}

}  // namespace hyper::daemon
