// The Hyperdrive service: the daemon's status (what the Node client asks first).
#pragma once

#include <chrono>
#include <string>

#include "daemon/rpc/services.grpc.pb.h"
#include "hyper/service/host.h"

namespace hyper::daemon {

// The API version of hyperdrive-schemas 1.x, which the Node client checks.
inline constexpr uint64_t kApiVersion = 0;
// What this daemon reports as its versions (ours, and the schema it speaks).
inline constexpr char kDaemonVersion[] = "hyperdrive-cpp 0.1.0";
inline constexpr char kSchemaVersion[] = "1.11.0";

class StatusService final : public ::Hyperdrive::Service {
 public:
  // `mounted`: the root drive is mounted through FUSE (docs/fuse.md).
  StatusService(service::Host& host, std::string token, bool mounted);

  grpc::Status status(grpc::ServerContext* ctx, const rpc::StatusRequest* req,
                      rpc::StatusResponse* rsp) override;
  grpc::Status refreshFuse(grpc::ServerContext* ctx, const rpc::FuseRefreshRequest* req,
                           rpc::FuseRefreshResponse* rsp) override;

 private:
  service::Host& host_;
  const std::string token_;
  const bool mounted_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace hyper::daemon
