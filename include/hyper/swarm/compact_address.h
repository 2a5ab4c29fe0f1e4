// The compact records the DHT packs into bytes fields: a peer is 6 bytes (IPv4, port
// big-endian), a node is its 32-byte id then its peer (38 bytes), as `ipv4-peers` lays them out.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "hyper/runtime/udp_socket.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

using NodeId = std::array<uint8_t, 32>;
using runtime::UdpEndpoint;

inline constexpr size_t kPeerBytes = 6;
inline constexpr size_t kNodeBytes = 38;

struct NodeRecord {
  NodeId id{};
  UdpEndpoint address;
  bool operator==(const NodeRecord&) const = default;
};

// 6 bytes; InvalidArgument when the host is not a dotted IPv4 address.
Result<Bytes> EncodePeer(const UdpEndpoint& peer);
// Exactly 6 bytes with a port other than 0, or nothing.
std::optional<UdpEndpoint> DecodePeer(ByteView six);
// Appends 6-byte records for `peers` (each must be IPv4; others are skipped).
Bytes EncodePeers(const std::vector<UdpEndpoint>& peers);
// A multiple of 6 bytes, none with port 0 or host 0.0.0.0; at most `max` records.
Result<std::vector<UdpEndpoint>> DecodePeers(ByteView bytes, size_t max);

Bytes EncodeNodes(const std::vector<NodeRecord>& nodes);
// 38-byte records (trailing bytes short of a record are ignored, as the reference does); a
// record with port 0 makes the whole field invalid. At most `max` records are decoded.
Result<std::vector<NodeRecord>> DecodeNodes(ByteView bytes, size_t max);

// Parses "a.b.c.d:port" (port 1-65535); InvalidArgument otherwise.
Result<UdpEndpoint> ParseHostPort(std::string_view text);
// A dotted IPv4 address ("10.0.0.1") as its 4 bytes.
std::optional<std::array<uint8_t, 4>> ParseIpv4(std::string_view host);

std::optional<NodeId> ToNodeId(ByteView bytes);  // exactly 32 bytes

}  // namespace hyper::swarm
