// ProtocolStream: one hypercore-protocol 8 connection, sans-IO. Bytes from the transport go in
// through Recv(); bytes for the transport come out of TakeOutput(). It runs the Noise XX
// handshake (length-prefixed messages carrying our XSalsa20 nonce), then encrypts every frame
// with XSalsa20, and multiplexes channels, one per feed, opened by discovery key and
// authenticated by capabilities (a peer that does not know a feed's key cannot open its
// channel). The equivalent of simple-hypercore-protocol plus hypercore-protocol's channelizer.
//
// Thread safety: none; one thread (the network thread) owns a stream. Non-copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hyper/crypto/crypto.h"
#include "hyper/protocol/messages.h"
#include "hyper/protocol/noise.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::protocol {

// Receives the messages of one channel. Called from inside ProtocolStream::Recv (or Open /
// Close); it may call back into the stream.
class ChannelHandler {
 public:
  virtual ~ChannelHandler() = default;
  // Both sides have opened the channel and the remote's capability verified.
  virtual void OnChannelOpen() {}
  // Every message of the channel except Open and Close. A non-Ok status destroys the stream.
  // The handler may move what it keeps out of `m` (a Data message's block).
  virtual Status OnChannelMessage(Message& m) { return Status::Ok(); }
  // The channel is closed (by us, by the remote, or because the stream ended). Last call.
  virtual void OnChannelClose() {}
};

struct StreamOptions {
  bool initiator = false;
  // The static Noise identity; random when absent.
  std::optional<DhKeyPair> key_pair;
  Limits limits;
};

class ProtocolStream {
 public:
  explicit ProtocolStream(StreamOptions options);
  ~ProtocolStream();
  ProtocolStream(const ProtocolStream&) = delete;
  ProtocolStream& operator=(const ProtocolStream&) = delete;

  // The initiator writes the first handshake message; harmless on the responder.
  void Start();
  // Bytes received from the transport. A non-Ok status means the stream is destroyed (the
  // status says why); every open channel has been closed.
  Status Recv(ByteView data);
  // The same, decrypting in place: `data` is clobbered (a transport's read buffer, which it
  // refills anyway; this saves a copy of every byte received).
  Status RecvInPlace(MutableByteView data);
  // Bytes to send, in order (empties the buffer).
  Bytes TakeOutput();
  // The same into `into`: its old contents are dropped and its capacity is kept for the next
  // output (a transport that hands back the buffer it has written allocates nothing).
  void TakeOutput(Bytes& into);
  bool has_output() const { return !out_.empty(); }
  size_t output_size() const { return out_.size(); }

  // Opens the channel of the feed `key`. Queued until the handshake is done. If the remote
  // has already opened it and its capability does not verify, the channel is closed instead
  // (PermissionDenied). REQUIRES: handler outlives the channel (until OnChannelClose).
  Status Open(const crypto::PublicKey& key, ChannelHandler* handler);
  // Sends a message on an open channel.
  Status Send(const crypto::Hash& discovery_key, const Message& m);
  // Closes our side of the channel (sends Close); the handler gets OnChannelClose.
  void Close(const crypto::Hash& discovery_key);
  // An encrypted keep-alive (skipped while handshaking).
  void Ping();
  // Ends the stream: closes every channel. Recv and Send fail afterwards.
  void Destroy(Status why);

  // Stream extensions (hypercore-protocol's stream.registerExtension): messages on channel 0,
  // outside every feed, named by extension. `names` are ours (kept sorted, duplicates
  // dropped); the remote learns them from an Options message on channel 0, sent before the
  // first extension message after each change (as the reference does), and tells us its own
  // the same way. Message ids index the sender's sorted list.
  void SetStreamExtensions(std::vector<std::string> names);
  const std::vector<std::string>& stream_extensions() const { return stream_ext_; }
  // Sends `payload` on our stream extension `name`; false when it is not one of ours.
  bool SendStreamExtension(std::string_view name, ByteView payload);
  // Told a message on a stream extension both sides named (larger payloads than
  // kMaxStreamExtensionPayload are dropped). It may call back into the stream.
  std::function<void(const std::string& name, ByteView payload)> on_stream_extension;
  static constexpr size_t kMaxStreamExtensionPayload = 256 * 1024;

  // Called when the remote opens a channel we have not opened; call Open() from it to answer.
  std::function<void(const crypto::Hash& discovery_key)> on_discovery_key;
  // Called once the handshake is done.
  std::function<void()> on_handshake;

  bool handshake_done() const { return handshake_ == nullptr; }
  bool destroyed() const { return destroyed_; }
  const Status& error() const { return error_; }
  // Channels known (opened by either side and not closed).
  size_t channel_count() const { return channels_.size(); }
  bool IsOpen(const crypto::Hash& discovery_key) const;
  // Whether the remote has opened this channel (we may not have answered yet).
  bool RemoteOpened(const crypto::Hash& discovery_key) const;
  // The discovery keys of the channels the remote has opened and not closed.
  std::vector<crypto::Hash> RemoteChannels() const;
  const std::array<uint8_t, kDhBytes>& public_key() const { return key_pair_.public_key; }
  std::optional<std::array<uint8_t, kDhBytes>> remote_public_key() const { return remote_static_; }
  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  struct Channel {
    crypto::Hash discovery_key{};
    std::optional<crypto::PublicKey> key;  // set when we opened it
    int64_t local_id = -1;
    int64_t remote_id = -1;
    std::optional<Bytes> remote_capability;
    ChannelHandler* handler = nullptr;
    bool announced_open = false;
  };
  struct Pending {
    uint64_t channel;
    Message message;
    std::optional<crypto::PublicKey> open_key;
  };

  Status RecvHandshake(ByteView data);
  Status FinishHandshake();
  Status RecvEncrypted(MutableByteView data);
  Status OnFrame(uint64_t channel, uint8_t type, ByteView body);
  Status OnRemoteOpen(uint64_t channel, OpenMessage m);
  Status OnRemoteClose(uint64_t channel, const CloseMessage& m);
  void SendNow(uint64_t channel, const Message& m, const std::optional<crypto::PublicKey>& key);
  void SendFrame(uint64_t channel, const Message& m, const std::optional<crypto::PublicKey>& key);
  void WriteHandshake(const Bytes& message);
  bool Verified(const Channel& ch) const;
  void MaybeAnnounceOpen(const crypto::Hash& dk);
  void DetachLocal(Channel& ch);
  Channel* ByRemote(uint64_t id);
  uint64_t AllocLocal();

  StreamOptions options_;
  DhKeyPair key_pair_;
  std::array<uint8_t, kNonceBytes> nonce_{};
  std::unique_ptr<NoiseHandshake> handshake_;
  Bytes hs_buffer_;
  std::optional<std::array<uint8_t, kNonceBytes>> remote_nonce_;
  std::optional<std::array<uint8_t, kDhBytes>> remote_static_;
  NoiseSplit split_;
  std::unique_ptr<XSalsa20> tx_;
  std::unique_ptr<XSalsa20> rx_;
  FrameDecoder frames_;
  std::vector<Pending> pending_;
  Bytes out_;
  std::map<crypto::Hash, Channel> channels_;
  std::vector<std::optional<crypto::Hash>> local_ids_;  // index = local channel id (0 unused)
  std::map<uint64_t, crypto::Hash> remote_ids_;
  std::vector<std::string> stream_ext_;         // ours, sorted
  bool stream_ext_told_ = false;                // the remote has our current list
  std::vector<std::string> remote_stream_ext_;  // the remote's, as it sent them
  Status OnStreamMessage(const Message& m);
  bool destroyed_ = false;
  bool started_ = false;
  Status error_;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
};

}  // namespace hyper::protocol
