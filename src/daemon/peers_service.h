// The Peers service: the peers connected now, named by small aliases of their Noise keys.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "daemon/rpc/services.grpc.pb.h"
#include "hyper/service/host.h"

namespace hyper::daemon {

class PeersService final : public ::Peers::Service {
 public:
  PeersService(service::Host& host, std::string token);

  grpc::Status getKey(grpc::ServerContext* ctx, const rpc::GetKeyRequest* req,
                      rpc::GetKeyResponse* rsp) override;
  grpc::Status getAlias(grpc::ServerContext* ctx, const rpc::GetAliasRequest* req,
                        rpc::GetAliasResponse* rsp) override;
  grpc::Status listPeers(grpc::ServerContext* ctx, const rpc::ListPeersRequest* req,
                         rpc::ListPeersResponse* rsp) override;
  grpc::Status watchPeers(grpc::ServerContext* ctx, const rpc::WatchPeersRequest* req,
                          grpc::ServerWriter<rpc::WatchPeersResponse>* writer) override;

  // The alias of a Noise key (given on first use, from 1; at most 65,536 are kept).
  uint32_t AliasOf(const std::string& key);
  // The Noise key an alias was given to (32 bytes), if it is still known.
  std::optional<std::string> KeyOfAlias(uint32_t alias);

 private:
  service::Host& host_;
  const std::string token_;
  std::mutex mu_;
  std::map<std::string, uint32_t> aliases_;
  std::map<uint32_t, std::string> keys_;
  uint32_t next_alias_ = 1;
};

}  // namespace hyper::daemon
