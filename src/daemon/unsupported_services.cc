#include "unsupported_services.h"

#include "auth.h"

namespace hyper::daemon {

namespace {

grpc::Status Unsupported(const grpc::ServerContext& ctx, const std::string& token,
                         const char* why) {
  if (grpc::Status denied = Authorize(ctx, token); !denied.ok()) return denied;
  return {grpc::StatusCode::UNIMPLEMENTED, why};
}

constexpr char kNoRepl[] = "this daemon has no debugging REPL (the reference's was JavaScript)";
constexpr char kNoHypercore[] =
    "the Hypercore service is not served (hyperdrive-schemas 1.11 "
    "gives its append and getBlocks no session id)";

}  // namespace

grpc::Status DebugService::repl(grpc::ServerContext* ctx,
                                grpc::ServerReaderWriter<rpc::ReplMessage, rpc::ReplMessage>*) {
  return Unsupported(*ctx, token_, kNoRepl);
}
grpc::Status HypercoreService::get(grpc::ServerContext* ctx, const rpc::GetCoreRequest*,
                                   rpc::GetCoreResponse*) {
  return Unsupported(*ctx, token_, kNoHypercore);
}
grpc::Status HypercoreService::close(grpc::ServerContext* ctx, const rpc::CloseSessionRequest*,
                                     rpc::CloseSessionResponse*) {
  return Unsupported(*ctx, token_, kNoHypercore);
}
grpc::Status HypercoreService::length(grpc::ServerContext* ctx, const rpc::LengthRequest*,
                                      rpc::LengthResponse*) {
  return Unsupported(*ctx, token_, kNoHypercore);
}
grpc::Status HypercoreService::append(grpc::ServerContext* ctx, const rpc::AppendRequest*,
                                      rpc::AppendResponse*) {
  return Unsupported(*ctx, token_, kNoHypercore);
}
grpc::Status HypercoreService::getBlocks(grpc::ServerContext* ctx, const rpc::GetRequest*,
                                         rpc::GetResponse*) {
  return Unsupported(*ctx, token_, kNoHypercore);
}

}  // namespace hyper::daemon
