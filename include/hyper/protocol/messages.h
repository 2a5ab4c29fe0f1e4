// hypercore-protocol 8 wire messages (simple-hypercore-protocol 2.x `schema.proto`), their
// framing (simple-message-channels) and the run-length encoded bitfields of Have messages
// (bitfield-rle). Every decoder takes explicit limits and never allocates what the sender
// claims before checking it. The formats are described in docs/formats/hypercore-protocol.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "hyper/crypto/crypto.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::protocol {

// Message types: the low 4 bits of a frame header.
enum class MessageType : uint8_t {
  kOpen = 0,
  kOptions = 1,
  kStatus = 2,
  kHave = 3,
  kUnhave = 4,
  kWant = 5,
  kUnwant = 6,
  kRequest = 7,
  kCancel = 8,
  kData = 9,
  kClose = 10,
  kExtension = 15,
};

struct Limits {
  // Largest frame body (header varint + message), as simple-message-channels' maxSize.
  size_t max_frame_bytes = 8 * 1024 * 1024;
  // Proof nodes in one Data message (a real proof has at most ~2 per tree level).
  size_t max_data_nodes = 256;
  size_t max_extensions = 64;
  size_t max_extension_name = 256;
  // Decoded size of a Have bitfield (1 MiB covers 8 Mi blocks; a Want covers 1 Mi).
  size_t max_bitfield_bytes = 1024 * 1024;
  // Highest channel id a remote may use.
  uint64_t max_channel_id = 4096;
};

struct OpenMessage {
  Bytes discovery_key;              // required
  std::optional<Bytes> capability;  // 32 bytes when present
  bool operator==(const OpenMessage&) const = default;
};
struct OptionsMessage {
  std::vector<std::string> extensions;
  std::optional<bool> ack;
  bool operator==(const OptionsMessage&) const = default;
};
struct StatusMessage {
  std::optional<bool> uploading;
  std::optional<bool> downloading;
  bool operator==(const StatusMessage&) const = default;
};
struct HaveMessage {
  uint64_t start = 0;
  std::optional<uint64_t> length;  // absent means 1
  std::optional<Bytes> bitfield;   // bitfield-rle of the blocks [start, start+length)
  std::optional<bool> ack;
  bool operator==(const HaveMessage&) const = default;
};
struct UnhaveMessage {
  uint64_t start = 0;
  std::optional<uint64_t> length;  // absent means 1
  bool operator==(const UnhaveMessage&) const = default;
};
struct WantMessage {
  uint64_t start = 0;
  std::optional<uint64_t> length;  // absent means "to the end"
  bool operator==(const WantMessage&) const = default;
};
struct UnwantMessage {
  uint64_t start = 0;
  std::optional<uint64_t> length;
  bool operator==(const UnwantMessage&) const = default;
};
struct RequestMessage {
  uint64_t index = 0;
  std::optional<uint64_t> bytes;
  std::optional<bool> hash;
  std::optional<uint64_t> nodes;  // the requester's Feed::Digest(index)
  bool operator==(const RequestMessage&) const = default;
};
struct CancelMessage {
  uint64_t index = 0;
  std::optional<uint64_t> bytes;
  std::optional<bool> hash;
  bool operator==(const CancelMessage&) const = default;
};
struct DataNode {
  uint64_t index = 0;
  crypto::Hash hash{};
  uint64_t size = 0;
  bool operator==(const DataNode&) const = default;
};
struct DataMessage {
  uint64_t index = 0;
  std::optional<Bytes> value;  // absent for a hash-only answer
  std::vector<DataNode> nodes;
  std::optional<crypto::Signature> signature;
  bool operator==(const DataMessage&) const = default;
};
struct CloseMessage {
  std::optional<Bytes> discovery_key;
  bool operator==(const CloseMessage&) const = default;
};
// Type 15: varint(id) followed by the extension's own bytes.
struct ExtensionMessage {
  uint64_t id = 0;
  Bytes payload;
  bool operator==(const ExtensionMessage&) const = default;
};
// Types 11..14: ignored by the reference; kept so that a caller can count them.
struct UnknownMessage {
  uint8_t type = 0;
  bool operator==(const UnknownMessage&) const = default;
};

using Message = std::variant<OpenMessage, OptionsMessage, StatusMessage, HaveMessage, UnhaveMessage,
                             WantMessage, UnwantMessage, RequestMessage, CancelMessage, DataMessage,
                             CloseMessage, ExtensionMessage, UnknownMessage>;

MessageType TypeOf(const Message& m);
std::string_view TypeName(MessageType type);

// The protobuf body of a message (field order as the reference's encoder writes it).
Bytes EncodeBody(const Message& m);
// Decodes the body of a message of `type` (0..15). A missing required field, a field of the
// wrong wire type, a hash or key of the wrong size, or a broken limit is Corruption.
Result<Message> DecodeBody(uint8_t type, ByteView body, const Limits& limits = {});

// One frame: varint(len) varint(channel << 4 | type) body, len counting header and body.
Bytes EncodeFrame(uint64_t channel, const Message& m);
void AppendFrame(Bytes& out, uint64_t channel, const Message& m);
// A keep-alive: a frame of length zero (one 0x00 byte).
inline Bytes KeepAliveFrame() { return Bytes{0}; }

// The NoisePayload carried by every handshake message: the sender's XSalsa20 nonce.
constexpr size_t kNonceBytes = 24;
Bytes EncodeNoisePayload(ByteView nonce);
// Corruption unless it holds a nonce of exactly 24 bytes.
Result<std::array<uint8_t, kNonceBytes>> DecodeNoisePayload(ByteView payload);

// Incremental frame splitter (simple-message-channels' reader). Feed any slicing of the byte
// stream; each complete frame is handed to the callback. Keep-alive frames are counted, not
// delivered. A length above limits.max_frame_bytes, a varint longer than 8 bytes, or a channel
// id above limits.max_channel_id is Corruption, after which the decoder stays broken.
class FrameDecoder {
 public:
  using OnFrame = std::function<Status(uint64_t channel, uint8_t type, ByteView body)>;
  explicit FrameDecoder(Limits limits = {}) : limits_(limits) {}
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Stops at, and returns, the first error (from the framing or from `on_frame`).
  Status Feed(ByteView in, const OnFrame& on_frame);
  uint64_t keep_alives() const { return keep_alives_; }
  // True between frames (no partial frame buffered).
  bool idle() const { return state_ == State::kLength && varint_bytes_ == 0; }

 private:
  enum class State { kLength, kBody };
  Limits limits_;
  State state_ = State::kLength;
  uint64_t varint_ = 0;
  int varint_bytes_ = 0;
  uint64_t length_ = 0;
  Bytes body_;
  uint64_t keep_alives_ = 0;
  Status broken_;
};

// bitfield-rle. Encode is byte-identical to the reference (trailing zero bytes trimmed).
Bytes RleEncode(ByteView bitfield);
// Decodes, padding the result with zeros to a multiple of `align` bytes (the reference
// decodes Have bitfields with align 4). Corruption when the encoding is truncated or would
// decode to more than `max_bytes`.
Result<Bytes> RleDecode(ByteView encoded, size_t max_bytes, size_t align = 4);

}  // namespace hyper::protocol
