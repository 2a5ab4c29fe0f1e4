#include "hyper/protocol/stream.h"

#include <sodium.h>

#include <algorithm>

#include "hyper/util/varint.h"

namespace hyper::protocol {
namespace {

crypto::Hash ToHash(ByteView b) {
  crypto::Hash h{};
  std::copy_n(b.begin(), std::min(b.size(), h.size()), h.begin());
  return h;
}

}  // namespace

ProtocolStream::ProtocolStream(StreamOptions options)
    : options_(options), frames_(options_.limits) {
  key_pair_ = options_.key_pair ? *options_.key_pair : GenerateDhKeyPair();
  crypto::RandomBytes(nonce_);
  handshake_ = std::make_unique<NoiseHandshake>(options_.initiator, key_pair_);
  local_ids_.emplace_back(std::nullopt);  // id 0 is the stream itself
}

ProtocolStream::~ProtocolStream() { sodium_memzero(&split_, sizeof split_); }

void ProtocolStream::Start() {
  if (started_ || destroyed_) return;
  started_ = true;
  if (handshake_ && handshake_->my_turn()) {
    auto msg = handshake_->WriteMessage(EncodeNoisePayload(nonce_));
    if (!msg.ok()) {
      Destroy(msg.status());
      return;
    }
    WriteHandshake(*msg);
  }
}

void ProtocolStream::WriteHandshake(const Bytes& message) {
  AppendVarint(out_, message.size());
  out_.insert(out_.end(), message.begin(), message.end());
  bytes_sent_ += VarintLength(message.size()) + message.size();
}

Bytes ProtocolStream::TakeOutput() {
  Bytes out;
  out.swap(out_);
  return out;
}

void ProtocolStream::TakeOutput(Bytes& into) {
  into.clear();
  into.swap(out_);
}

Status ProtocolStream::Recv(ByteView data) {
  Bytes copy(data.begin(), data.end());
  return RecvInPlace(copy);
}

Status ProtocolStream::RecvInPlace(MutableByteView data) {
  if (destroyed_) return error_.ok() ? Status::Cancelled("stream is destroyed") : error_;
  if (!started_) Start();
  bytes_received_ += data.size();
  Status s = handshake_ ? RecvHandshake(data) : RecvEncrypted(data);
  if (!s.ok()) {
    Destroy(s);
    return s;
  }
  if (destroyed_) return error_.ok() ? Status::Cancelled("stream is destroyed") : error_;
  return Status::Ok();
}

Status ProtocolStream::RecvHandshake(ByteView data) {
  hs_buffer_.insert(hs_buffer_.end(), data.begin(), data.end());
  if (hs_buffer_.size() > 2 * (kMaxNoiseMessage + kMaxVarintLen)) {
    return Status::Corruption("handshake: too much data before the handshake is done");
  }
  while (handshake_ && !hs_buffer_.empty()) {
    size_t n = 0;
    auto len = DecodeVarint(hs_buffer_, &n);
    if (!len.ok()) {
      if (hs_buffer_.size() < kMaxVarintLen) return Status::Ok();  // incomplete varint
      return Status::Corruption("handshake: bad length prefix");
    }
    if (*len > kMaxNoiseMessage) return Status::Corruption("handshake: message longer than 65535");
    if (hs_buffer_.size() - n < *len) return Status::Ok();
    Bytes message(hs_buffer_.begin() + static_cast<ptrdiff_t>(n),
                  hs_buffer_.begin() + static_cast<ptrdiff_t>(n + *len));
    hs_buffer_.erase(hs_buffer_.begin(), hs_buffer_.begin() + static_cast<ptrdiff_t>(n + *len));
    auto payload = handshake_->ReadMessage(message);
    if (!payload.ok())
      return Status::Corruption("Noise handshake error: " + payload.status().message());
    if (!payload->empty()) {
      auto nonce = DecodeNoisePayload(*payload);
      if (!nonce.ok()) return Status::Corruption("could not parse remote payload");
      remote_nonce_ = *nonce;
    }
    if (handshake_->my_turn()) {
      ASSIGN_OR_RETURN(Bytes reply, handshake_->WriteMessage(EncodeNoisePayload(nonce_)));
      WriteHandshake(reply);
    }
    if (handshake_->finished()) {
      RETURN_IF_ERROR(FinishHandshake());
      Bytes rest;
      rest.swap(hs_buffer_);
      if (!rest.empty()) return RecvEncrypted(rest);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ProtocolStream::FinishHandshake() {
  if (!remote_nonce_) return Status::Corruption("remote did not include a handshake payload");
  split_ = handshake_->split();
  remote_static_ = handshake_->remote_static();
  tx_ = std::make_unique<XSalsa20>(nonce_, split_.tx);
  rx_ = std::make_unique<XSalsa20>(*remote_nonce_, split_.rx);
  handshake_.reset();
  if (on_handshake) on_handshake();
  if (destroyed_) return Status::Ok();
  std::vector<Pending> pending;
  pending.swap(pending_);
  for (auto& p : pending) {
    if (destroyed_) break;
    SendFrame(p.channel, p.message, p.open_key);
  }
  return Status::Ok();
}

Status ProtocolStream::RecvEncrypted(MutableByteView data) {
  rx_->Xor(data);
  return frames_.Feed(data, [this](uint64_t channel, uint8_t type, ByteView body) {
    if (destroyed_) return Status::Ok();
    return OnFrame(channel, type, body);
  });
}

Status ProtocolStream::OnFrame(uint64_t channel, uint8_t type, ByteView body) {
  ASSIGN_OR_RETURN(Message m, DecodeBody(type, body, options_.limits));
  if (auto* open = std::get_if<OpenMessage>(&m)) return OnRemoteOpen(channel, std::move(*open));
  if (auto* close = std::get_if<CloseMessage>(&m)) return OnRemoteClose(channel, *close);
  if (std::holds_alternative<UnknownMessage>(m)) return Status::Ok();
  // Channel 0 is no feed's (ids start at 1): the stream's own extensions.
  if (channel == 0) return OnStreamMessage(m);
  Channel* ch = ByRemote(channel);
  if (ch == nullptr || ch->handler == nullptr || !Verified(*ch)) return Status::Ok();
  return ch->handler->OnChannelMessage(m);
}

ProtocolStream::Channel* ProtocolStream::ByRemote(uint64_t id) {
  auto it = remote_ids_.find(id);
  if (it == remote_ids_.end()) return nullptr;
  auto ch = channels_.find(it->second);
  return ch == channels_.end() ? nullptr : &ch->second;
}

Status ProtocolStream::OnRemoteOpen(uint64_t channel, OpenMessage m) {
  if (remote_ids_.count(channel)) return Status::Corruption("remote reused an open channel id");
  crypto::Hash dk = ToHash(m.discovery_key);
  auto it = channels_.find(dk);
  if (it == channels_.end()) {
    if (channels_.size() >= options_.limits.max_channel_id) {
      return Status::Corruption("remote opened too many channels");
    }
    it = channels_.emplace(dk, Channel{}).first;
    it->second.discovery_key = dk;
  }
  Channel& ch = it->second;
  if (ch.remote_id >= 0) return Status::Corruption("remote opened the same feed twice");
  ch.remote_id = static_cast<int64_t>(channel);
  ch.remote_capability = std::move(m.capability);
  remote_ids_[channel] = dk;
  if (ch.local_id < 0) {
    if (on_discovery_key) on_discovery_key(dk);
    return Status::Ok();
  }
  if (!Verified(ch)) return Status::PermissionDenied("invalid remote channel capability");
  MaybeAnnounceOpen(dk);
  return Status::Ok();
}

Status ProtocolStream::OnRemoteClose(uint64_t channel, const CloseMessage& m) {
  Channel* ch = ByRemote(channel);
  if (ch != nullptr) {
    remote_ids_.erase(channel);
    ch->remote_id = -1;
  } else if (m.discovery_key) {
    auto it = channels_.find(ToHash(*m.discovery_key));
    if (it != channels_.end()) ch = &it->second;
  }
  if (ch == nullptr) return Status::Ok();
  crypto::Hash dk = ch->discovery_key;
  if (ch->remote_id >= 0) remote_ids_.erase(static_cast<uint64_t>(ch->remote_id));
  ChannelHandler* handler = nullptr;
  if (ch->local_id >= 0) {
    uint64_t local = static_cast<uint64_t>(ch->local_id);
    local_ids_[local].reset();
    handler = ch->handler;
    SendNow(local, CloseMessage{}, std::nullopt);
  }
  channels_.erase(dk);
  if (handler) handler->OnChannelClose();
  return Status::Ok();
}

bool ProtocolStream::Verified(const Channel& ch) const {
  if (ch.local_id < 0 || ch.remote_id < 0 || !ch.remote_capability || !ch.key || handshake_) {
    return false;
  }
  crypto::Hash expected = crypto::RemoteCapability(*ch.key, split_.rx, split_.tx);
  return ch.remote_capability->size() == expected.size() &&
         sodium_memcmp(ch.remote_capability->data(), expected.data(), expected.size()) == 0;
}

void ProtocolStream::MaybeAnnounceOpen(const crypto::Hash& dk) {
  auto it = channels_.find(dk);
  if (it == channels_.end()) return;
  Channel& ch = it->second;
  if (ch.announced_open || !Verified(ch) || ch.handler == nullptr) return;
  ch.announced_open = true;
  ch.handler->OnChannelOpen();
}

uint64_t ProtocolStream::AllocLocal() {
  for (size_t i = 1; i < local_ids_.size(); ++i) {
    if (!local_ids_[i]) return i;
  }
  local_ids_.emplace_back(std::nullopt);
  return local_ids_.size() - 1;
}

bool ProtocolStream::IsOpen(const crypto::Hash& discovery_key) const {
  auto it = channels_.find(discovery_key);
  return it != channels_.end() && it->second.local_id >= 0;
}

bool ProtocolStream::RemoteOpened(const crypto::Hash& discovery_key) const {
  auto it = channels_.find(discovery_key);
  return it != channels_.end() && it->second.remote_id >= 0;
}

std::vector<crypto::Hash> ProtocolStream::RemoteChannels() const {
  std::vector<crypto::Hash> out;
  for (const auto& [dk, ch] : channels_) {
    if (ch.remote_id >= 0) out.push_back(dk);
  }
  return out;
}

Status ProtocolStream::Open(const crypto::PublicKey& key, ChannelHandler* handler) {
  if (destroyed_) return Status::Cancelled("stream is destroyed");
  crypto::Hash dk = crypto::DiscoveryKey(key);
  auto it = channels_.find(dk);
  if (it == channels_.end()) {
    it = channels_.emplace(dk, Channel{}).first;
    it->second.discovery_key = dk;
  }
  Channel& ch = it->second;
  if (ch.local_id >= 0) {
    ch.handler = handler;
    return Status::Ok();
  }
  ch.key = key;
  if (ch.remote_id >= 0 && handshake_done()) {
    // The remote opened first: answer only if it proved it knows the key.
    ch.local_id = 0;  // so that Verified() can check the capability
    bool ok = Verified(ch);
    ch.local_id = -1;
    if (!ok) {
      remote_ids_.erase(static_cast<uint64_t>(ch.remote_id));
      channels_.erase(it);
      SendNow(AllocLocal(), CloseMessage{ToBytes(ByteView(dk))}, std::nullopt);
      return Status::PermissionDenied("invalid remote channel capability");
    }
  }
  if (local_ids_.size() > options_.limits.max_channel_id) {
    return Status::InvalidArgument("too many channels on one stream");
  }
  ch.handler = handler;
  ch.local_id = static_cast<int64_t>(AllocLocal());
  local_ids_[static_cast<size_t>(ch.local_id)] = dk;
  OpenMessage open;
  open.discovery_key = ToBytes(ByteView(dk));
  SendNow(static_cast<uint64_t>(ch.local_id), open, key);
  MaybeAnnounceOpen(dk);
  return Status::Ok();
}

Status ProtocolStream::Send(const crypto::Hash& discovery_key, const Message& m) {
  if (destroyed_) return Status::Cancelled("stream is destroyed");
  auto it = channels_.find(discovery_key);
  if (it == channels_.end() || it->second.local_id < 0) {
    return Status::NotFound("channel is not open");
  }
  SendNow(static_cast<uint64_t>(it->second.local_id), m, std::nullopt);
  return Status::Ok();
}

void ProtocolStream::Close(const crypto::Hash& discovery_key) {
  if (destroyed_) return;
  auto it = channels_.find(discovery_key);
  if (it == channels_.end()) return;
  Channel& ch = it->second;
  if (ch.local_id < 0) return;
  uint64_t local = static_cast<uint64_t>(ch.local_id);
  ChannelHandler* handler = ch.handler;
  local_ids_[local].reset();
  if (ch.remote_id >= 0) remote_ids_.erase(static_cast<uint64_t>(ch.remote_id));
  channels_.erase(it);
  SendNow(local, CloseMessage{}, std::nullopt);
  if (handler) handler->OnChannelClose();
}

void ProtocolStream::SendNow(uint64_t channel, const Message& m,
                             const std::optional<crypto::PublicKey>& key) {
  if (destroyed_) return;
  if (handshake_ || !pending_.empty()) {
    pending_.push_back(Pending{channel, m, key});
    return;
  }
  SendFrame(channel, m, key);
}

void ProtocolStream::SendFrame(uint64_t channel, const Message& m,
                               const std::optional<crypto::PublicKey>& key) {
  // The frame is written straight into the output and encrypted where it lies.
  size_t start = out_.size();
  if (key && std::holds_alternative<OpenMessage>(m)) {
    OpenMessage open = std::get<OpenMessage>(m);
    crypto::Hash cap = crypto::Capability(*key, split_.rx, split_.tx);
    open.capability = ToBytes(ByteView(cap));
    AppendFrame(out_, channel, open);
  } else {
    AppendFrame(out_, channel, m);
  }
  tx_->Xor(MutableByteView(out_).subspan(start));
  bytes_sent_ += out_.size() - start;
}

void ProtocolStream::SetStreamExtensions(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names == stream_ext_) return;
  stream_ext_ = std::move(names);
  stream_ext_told_ = false;
}

bool ProtocolStream::SendStreamExtension(std::string_view name, ByteView payload) {
  if (destroyed_) return false;
  auto it = std::lower_bound(stream_ext_.begin(), stream_ext_.end(), name);
  if (it == stream_ext_.end() || *it != name) return false;
  if (!stream_ext_told_) {
    SendNow(0, OptionsMessage{stream_ext_, std::nullopt}, std::nullopt);
    stream_ext_told_ = true;
  }
  ExtensionMessage e;
  e.id = static_cast<uint64_t>(it - stream_ext_.begin());
  e.payload = ToBytes(payload);
  SendNow(0, e, std::nullopt);
  return true;
}

Status ProtocolStream::OnStreamMessage(const Message& m) {
  if (const auto* o = std::get_if<OptionsMessage>(&m)) {
    remote_stream_ext_ = o->extensions;
    return Status::Ok();
  }
  const auto* e = std::get_if<ExtensionMessage>(&m);
  if (e == nullptr || e->id >= remote_stream_ext_.size()) return Status::Ok();
  if (e->payload.size() > kMaxStreamExtensionPayload) return Status::Ok();
  const std::string& name = remote_stream_ext_[e->id];
  if (!std::binary_search(stream_ext_.begin(), stream_ext_.end(), name)) return Status::Ok();
  if (on_stream_extension) {
    const std::string copy = name;  // the handler may change the lists
    on_stream_extension(copy, e->payload);
  }
  return Status::Ok();
}

void ProtocolStream::Ping() {
  if (destroyed_ || handshake_ || !pending_.empty()) return;
  Bytes ping = KeepAliveFrame();
  tx_->Xor(ping);
  bytes_sent_ += ping.size();
  out_.insert(out_.end(), ping.begin(), ping.end());
}

void ProtocolStream::Destroy(Status why) {
  if (destroyed_) return;
  destroyed_ = true;
  error_ = std::move(why);
  std::vector<ChannelHandler*> handlers;
  for (auto& [dk, ch] : channels_) {
    if (ch.local_id >= 0 && ch.handler) handlers.push_back(ch.handler);
  }
  channels_.clear();
  remote_ids_.clear();
  local_ids_.assign(1, std::nullopt);
  pending_.clear();
  for (ChannelHandler* h : handlers) h->OnChannelClose();
}

}  // namespace hyper::protocol
