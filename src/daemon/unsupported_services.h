// The services of the API that this daemon does not serve: the Hypercore service (its schema
// gives append and getBlocks no session id, so a call cannot say which core it means; the
// reference never served it either) and the reference's debugging REPL (JavaScript, never
// ours). Each rpc checks the token like every other, then answers UNIMPLEMENTED with why:
// a caller with a wrong token learns nothing, and one with the right token a clear reason.
#pragma once

#include <string>

#include "daemon/rpc/services.grpc.pb.h"

namespace hyper::daemon {

class DebugService final : public ::Debug::Service {
 public:
  explicit DebugService(std::string token) : token_(std::move(token)) {}
  grpc::Status repl(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<rpc::ReplMessage, rpc::ReplMessage>* stream) override;

 private:
  const std::string token_;
};

class HypercoreService final : public ::Hypercore::Service {
 public:
  explicit HypercoreService(std::string token) : token_(std::move(token)) {}
  grpc::Status get(grpc::ServerContext* ctx, const rpc::GetCoreRequest* req,
                   rpc::GetCoreResponse* rsp) override;
  grpc::Status close(grpc::ServerContext* ctx, const rpc::CloseSessionRequest* req,
                     rpc::CloseSessionResponse* rsp) override;
  grpc::Status length(grpc::ServerContext* ctx, const rpc::LengthRequest* req,
                      rpc::LengthResponse* rsp) override;
  grpc::Status append(grpc::ServerContext* ctx, const rpc::AppendRequest* req,
                      rpc::AppendResponse* rsp) override;
  grpc::Status getBlocks(grpc::ServerContext* ctx, const rpc::GetRequest* req,
                         rpc::GetResponse* rsp) override;

 private:
  const std::string token_;
};

}  // namespace hyper::daemon
