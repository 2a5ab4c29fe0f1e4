// Every rpc's first step: the caller's `token` metadata must be the daemon's token.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

namespace hyper::daemon {

// OK, or UNAUTHENTICATED "Invalid auth token." (the reference daemon's words, which its client
// knows). The comparison takes the same time wherever the tokens differ.
grpc::Status Authorize(const grpc::ServerContext& context, const std::string& token);

}  // namespace hyper::daemon
