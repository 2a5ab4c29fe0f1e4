#include "peers_service.h"

#include <algorithm>
#include <set>

#include "auth.h"

namespace hyper::daemon {

namespace {

std::string KeyText(const std::array<uint8_t, 32>& key) {
  return std::string(key.begin(), key.end());
}

// The peers that opened `discovery_key` (every peer when it is empty).
std::vector<service::PeerInfo> PeersOf(service::Host& host, const std::string& discovery_key) {
  std::vector<service::PeerInfo> out;
  for (auto& p : host.Peers()) {
    if (!discovery_key.empty()) {
      const bool has = std::any_of(p.discovery_keys.begin(), p.discovery_keys.end(),
                                   [&](const crypto::Hash& dk) {
                                     return std::string(dk.begin(), dk.end()) == discovery_key;
                                   });
      if (!has) continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

PeersService::PeersService(service::Host& host, std::string token)
    : host_(host), token_(std::move(token)) {}

uint32_t PeersService::AliasOf(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = aliases_.find(key); it != aliases_.end()) return it->second;
  if (aliases_.size() >= 65536) {
    // Forget the oldest alias: a daemon that met a million peers keeps a bounded table.
    auto oldest = keys_.begin();
    aliases_.erase(oldest->second);
    keys_.erase(oldest);
  }
  const uint32_t alias = next_alias_++;
  aliases_[key] = alias;
  keys_[alias] = key;
  return alias;
}

std::optional<std::string> PeersService::KeyOfAlias(uint32_t alias) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(alias);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

grpc::Status PeersService::getKey(grpc::ServerContext* ctx, const rpc::GetKeyRequest* req,
                                  rpc::GetKeyResponse* rsp) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(req->alias());
  if (it == keys_.end()) {
    return {grpc::StatusCode::NOT_FOUND, "no peer has alias " + std::to_string(req->alias())};
  }
  rsp->set_key(it->second);
  return grpc::Status::OK;
}

grpc::Status PeersService::getAlias(grpc::ServerContext* ctx, const rpc::GetAliasRequest* req,
                                    rpc::GetAliasResponse* rsp) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  if (req->key().size() != 32) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "a peer's Noise key is 32 bytes"};
  }
  rsp->set_alias(AliasOf(req->key()));
  return grpc::Status::OK;
}

grpc::Status PeersService::listPeers(grpc::ServerContext* ctx, const rpc::ListPeersRequest* req,
                                     rpc::ListPeersResponse* rsp) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  for (const auto& p : PeersOf(host_, req->discoverykey())) {
    rpc::PeerInfo* info = rsp->add_peers();
    info->set_noisekey(KeyText(p.noise_key));
    info->set_address(p.address);
    info->set_type("tcp");
  }
  return grpc::Status::OK;
}

grpc::Status PeersService::watchPeers(grpc::ServerContext* ctx, const rpc::WatchPeersRequest* req,
                                      grpc::ServerWriter<rpc::WatchPeersResponse>* writer) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  // Woken by the replicator's events (connections opening, closing, channels opened); the
  // peers are compared with the last set sent, and the difference is sent.
  std::set<std::string> known;
  protocol::Replicator& rep = host_.replicator();
  uint64_t seen = rep.events();
  while (!ctx->IsCancelled()) {
    std::set<std::string> now;
    for (const auto& p : PeersOf(host_, req->discoverykey())) now.insert(KeyText(p.noise_key));
    rpc::WatchPeersResponse joined;
    joined.set_type(rpc::WatchPeersResponse::Joined);
    rpc::WatchPeersResponse left;
    left.set_type(rpc::WatchPeersResponse::Left);
    for (const auto& k : now) {
      if (!known.count(k)) joined.add_peers(AliasOf(k));
    }
    for (const auto& k : known) {
      if (!now.count(k)) left.add_peers(AliasOf(k));
    }
    if (joined.peers_size() > 0 && !writer->Write(joined)) break;
    if (left.peers_size() > 0 && !writer->Write(left)) break;
    known = std::move(now);
    // A second at most between looks at the cancellation (a client that went away).
    (void)rep.WaitForEvent(seen, std::chrono::seconds(1));
    seen = rep.events();
  }
  return grpc::Status::OK;
}

}  // namespace hyper::daemon
