#include "peersockets_service.h"

#include <algorithm>
#include <thread>

#include "auth.h"
#include "convert.h"

namespace hyper::daemon {

PeersocketsService::PeersocketsService(service::Host& host, PeersService& peers, std::string token)
    : host_(host), peers_(peers), token_(std::move(token)) {}

Status PeersocketsService::Join(const std::string& topic, const std::shared_ptr<Handle>& handle) {
  std::lock_guard<std::mutex> joining(join_mu_);
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& handles = topics_[topic];
    first = handles.empty();
    handles.push_back(handle);
  }
  if (!first) return Status::Ok();
  // The first handle of a topic speaks its extension on every connection.
  Status s = host_.replicator().RegisterStreamExtension(
      kExtensionPrefix + topic,
      [this, topic](const std::array<uint8_t, 32>& remote_key, ByteView payload) {
        OnMessage(topic, remote_key, payload);
      });
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    topics_.erase(topic);
  }
  return s;
}

void PeersocketsService::Leave(const std::string& topic, const std::shared_ptr<Handle>& handle) {
  std::lock_guard<std::mutex> joining(join_mu_);
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    auto& handles = it->second;
    handles.erase(std::remove(handles.begin(), handles.end(), handle), handles.end());
    last = handles.empty();
    if (last) topics_.erase(it);
  }
  if (last) host_.replicator().UnregisterStreamExtension(kExtensionPrefix + topic);
}

void PeersocketsService::OnMessage(const std::string& topic,
                                   const std::array<uint8_t, 32>& remote_key, ByteView payload) {
  const uint32_t alias = peers_.AliasOf(std::string(remote_key.begin(), remote_key.end()));
  std::vector<std::shared_ptr<Handle>> handles;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    handles = it->second;
  }
  for (const auto& h : handles) {
    std::lock_guard<std::mutex> lock(h->mu);
    if (h->done || h->queued_bytes + payload.size() > kMaxQueuedBytes) continue;
    h->queue.emplace_back(alias, std::string(payload.begin(), payload.end()));
    h->queued_bytes += payload.size();
    h->cv.notify_all();
  }
}

grpc::Status PeersocketsService::join(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<rpc::PeerMessage, rpc::PeerMessage>* stream) {
  if (grpc::Status denied = Authorize(*ctx, token_); !denied.ok()) return denied;
  rpc::PeerMessage first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  if (first.type() != rpc::PeerMessage::Open || !first.has_open()) {
    return ToGrpc(Status::InvalidArgument("the first message of a join must open a topic"));
  }
  const std::string topic = first.open().topic();
  if (topic.empty()) return ToGrpc(Status::InvalidArgument("a topic needs a name"));
  auto handle = std::make_shared<Handle>();
  if (Status s = Join(topic, handle); !s.ok()) return ToGrpc(s);
  const std::string extension = kExtensionPrefix + topic;
  // The client's messages: data for a peer, by alias (an alias no longer known, or a peer not
  // connected, is dropped, as the reference does). Its end ends the call.
  std::thread reader([this, stream, handle, &extension] {
    rpc::PeerMessage m;
    while (stream->Read(&m)) {
      if (m.type() != rpc::PeerMessage::Data || !m.has_data()) continue;
      auto key = peers_.KeyOfAlias(m.data().alias());
      if (!key || key->size() != 32) continue;
      std::array<uint8_t, 32> remote{};
      std::copy(key->begin(), key->end(), remote.begin());
      const std::string& msg = m.data().msg();
      (void)host_.replicator().SendStreamExtension(
          remote, extension, ByteView(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
    }
    std::lock_guard<std::mutex> lock(handle->mu);
    handle->done = true;
    handle->cv.notify_all();
  });
  bool ok = true;
  while (ok) {
    std::unique_lock<std::mutex> lock(handle->mu);
    handle->cv.wait(lock, [&] { return !handle->queue.empty() || handle->done; });
    if (handle->queue.empty()) break;  // done
    auto [alias, msg] = std::move(handle->queue.front());
    handle->queue.pop_front();
    handle->queued_bytes -= msg.size();
    lock.unlock();
    rpc::PeerMessage out;
    out.set_type(rpc::PeerMessage::Data);
    out.mutable_data()->set_alias(alias);
    out.mutable_data()->set_msg(std::move(msg));
    ok = stream->Write(out);
  }
  if (!ok) ctx->TryCancel();  // the client is gone: end its Read too
  reader.join();
  Leave(topic, handle);
  return grpc::Status::OK;
}

}  // namespace hyper::daemon
