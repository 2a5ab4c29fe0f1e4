#include "auth.h"

#include <sodium.h>

namespace hyper::daemon {

grpc::Status Authorize(const grpc::ServerContext& context, const std::string& token) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("token");
  bool ok = false;
  if (it != metadata.end() && it->second.size() == token.size() && !token.empty()) {
    ok = sodium_memcmp(it->second.data(), token.data(), token.size()) == 0;
  }
  if (!ok) return {grpc::StatusCode::UNAUTHENTICATED, "Invalid auth token."};
  return grpc::Status::OK;
}

}  // namespace hyper::daemon
