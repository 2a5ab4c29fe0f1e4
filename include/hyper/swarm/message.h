// The one message of the DHT's wire (dht-rpc 4's `Message`, a protobuf per UDP datagram):
// a query, an update or a response, with its request id, and the Kademlia fields (the
// sender's id, the target, closer nodes, the round-trip token). Encoded in the reference's
// field order; decoded with an explicit limit on every field. See docs/formats/dht.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

enum class MessageType : uint8_t { kQuery = 1, kUpdate = 2, kResponse = 3 };

// The version this implementation sends (dht-rpc's IO.VERSION). A message without a version
// (or an older one) is from an old node, and its id is ignored, as the reference does.
inline constexpr uint64_t kWireVersion = 1;

// Limits on what a decoded message may hold (in bytes); anything bigger is Corruption.
struct MessageLimits {
  static constexpr size_t kMaxDatagram = 65507;
  static constexpr size_t kMaxTo = 32;                // one 6-byte IPv4 peer in practice
  static constexpr size_t kMaxId = 32;                // exactly 32 when present and used
  static constexpr size_t kMaxTarget = 64;            // 32 for every command of the reference
  static constexpr size_t kMaxCloserNodes = 64 * 38;  // the reference sends at most 20 nodes
  static constexpr size_t kMaxToken = 64;             // 32 from the reference
  static constexpr size_t kMaxCommand = 64;
  static constexpr size_t kMaxError = 1024;
  static constexpr size_t kMaxValue = 8192;  // PeersOutput: at most 128*6 + 32*4 bytes
};

struct Message {
  std::optional<uint64_t> version;
  MessageType type = MessageType::kQuery;
  uint64_t rid = 0;         // request id; a response carries the request's
  std::optional<Bytes> to;  // the receiver's address as the sender saw it (6 bytes)
  std::optional<Bytes> id;  // the sender's node id; absent from ephemeral nodes
  std::optional<Bytes> target;
  std::optional<Bytes> closer_nodes;  // 38-byte records: id, IPv4, port
  std::optional<Bytes> roundtrip_token;
  std::optional<std::string> command;
  std::optional<std::string> error;
  std::optional<Bytes> value;
  // Field 15, ours: zero bytes that make a request pay for its answer (a node answers at most
  // 3x the request's size). Every node skips it, the reference included (an unknown field).
  std::optional<Bytes> padding;

  bool operator==(const Message&) const = default;
};

Bytes EncodeMessage(const Message& m);
// Corruption (naming the field) on malformed protobuf, a missing type or rid, an unknown
// type, a field of the wrong wire type, or a field over its limit. Unknown fields are skipped.
Result<Message> DecodeMessage(ByteView datagram);

// The `value` of a `_holepunch` query: `from` (set by the referrer when relaying) and `to`
// (set by the asker: whom to relay to), each one 6-byte IPv4 peer.
struct Holepunch {
  std::optional<Bytes> from;
  std::optional<Bytes> to;
  bool operator==(const Holepunch&) const = default;
};
Bytes EncodeHolepunch(const Holepunch& h);
Result<Holepunch> DecodeHolepunch(ByteView value);

}  // namespace hyper::swarm
