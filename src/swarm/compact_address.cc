#include "hyper/swarm/compact_address.h"

#include <charconv>
#include <string>

namespace hyper::swarm {

std::optional<std::array<uint8_t, 4>> ParseIpv4(std::string_view host) {
  std::array<uint8_t, 4> out{};
  size_t part = 0;
  const char* p = host.data();
  const char* end = host.data() + host.size();
  while (part < 4) {
    unsigned value = 0;
    auto [next, ec] = std::from_chars(p, end, value);
    if (ec != std::errc() || next == p || next - p > 3 || value > 255) return std::nullopt;
    out[part++] = static_cast<uint8_t>(value);
    p = next;
    if (part < 4) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return out;
}

namespace {

std::string FormatIpv4(const uint8_t* b) {
  return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
         std::to_string(b[3]);
}

bool AppendPeer(Bytes& out, const UdpEndpoint& peer) {
  auto ip = ParseIpv4(peer.host);
  if (!ip) return false;
  out.insert(out.end(), ip->begin(), ip->end());
  out.push_back(static_cast<uint8_t>(peer.port >> 8));
  out.push_back(static_cast<uint8_t>(peer.port & 0xff));
  return true;
}

}  // namespace

Result<Bytes> EncodePeer(const UdpEndpoint& peer) {
  Bytes out;
  if (!AppendPeer(out, peer)) return Status::InvalidArgument("not an IPv4 address: " + peer.host);
  return out;
}

std::optional<UdpEndpoint> DecodePeer(ByteView six) {
  if (six.size() != kPeerBytes) return std::nullopt;
  const uint16_t port = GetUint16BE(six.data() + 4);
  if (port == 0) return std::nullopt;
  return UdpEndpoint{FormatIpv4(six.data()), port};
}

Bytes EncodePeers(const std::vector<UdpEndpoint>& peers) {
  Bytes out;
  out.reserve(peers.size() * kPeerBytes);
  for (const auto& p : peers) AppendPeer(out, p);
  return out;
}

Result<std::vector<UdpEndpoint>> DecodePeers(ByteView bytes, size_t max) {
  if (bytes.size() % kPeerBytes != 0) {
    return Status::Corruption("peer list of " + std::to_string(bytes.size()) +
                              " bytes is not a multiple of 6");
  }
  if (bytes.size() / kPeerBytes > max) {
    return Status::Corruption("peer list of " + std::to_string(bytes.size() / kPeerBytes) +
                              " peers, over the limit of " + std::to_string(max));
  }
  std::vector<UdpEndpoint> out;
  out.reserve(bytes.size() / kPeerBytes);
  for (size_t i = 0; i < bytes.size(); i += kPeerBytes) {
    auto peer = DecodePeer(bytes.subspan(i, kPeerBytes));
    if (!peer || peer->host == "0.0.0.0") {
      return Status::Corruption("peer list holds port 0 or host 0.0.0.0");
    }
    out.push_back(std::move(*peer));
  }
  return out;
}

Bytes EncodeNodes(const std::vector<NodeRecord>& nodes) {
  Bytes out;
  out.reserve(nodes.size() * kNodeBytes);
  for (const auto& n : nodes) {
    Bytes peer;
    if (!AppendPeer(peer, n.address)) continue;
    out.insert(out.end(), n.id.begin(), n.id.end());
    out.insert(out.end(), peer.begin(), peer.end());
  }
  return out;
}

Result<std::vector<NodeRecord>> DecodeNodes(ByteView bytes, size_t max) {
  std::vector<NodeRecord> out;
  const size_t count = std::min(bytes.size() / kNodeBytes, max);
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    ByteView rec = bytes.subspan(i * kNodeBytes, kNodeBytes);
    auto peer = DecodePeer(rec.subspan(32, kPeerBytes));
    if (!peer) return Status::Corruption("node list holds a node with port 0");
    NodeRecord n;
    std::copy(rec.begin(), rec.begin() + 32, n.id.begin());
    n.address = std::move(*peer);
    out.push_back(std::move(n));
  }
  return out;
}

Result<UdpEndpoint> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("expected HOST:PORT, got '" + std::string(text) + "'");
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [next, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || next != port_text.data() + port_text.size() || port > 65535) {
    return Status::InvalidArgument("bad port in '" + std::string(text) + "'");
  }
  if (!ParseIpv4(host)) {
    return Status::InvalidArgument("expected an IPv4 address in '" + std::string(text) + "'");
  }
  return UdpEndpoint{std::string(host), static_cast<uint16_t>(port)};
}

std::optional<NodeId> ToNodeId(ByteView bytes) {
  if (bytes.size() != 32) return std::nullopt;
  NodeId id{};
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

}  // namespace hyper::swarm
