// The values of @hyperswarm/dht's `peers` command: PeersInput (what an announce, unannounce
// or lookup sends) and PeersOutput (what a node answers: the peers it stores for the topic).
#pragma once

#include <cstdint>
#include <optional>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

struct PeersInput {
  std::optional<uint32_t> port;        // 0 or absent: the UDP source port
  std::optional<Bytes> local_address;  // 6 bytes: the announcer's LAN address and port
  std::optional<bool> unannounce;
  bool operator==(const PeersInput&) const = default;
};

struct PeersOutput {
  std::optional<Bytes> peers;        // 6-byte records
  std::optional<Bytes> local_peers;  // 4-byte records: the last two address bytes and port
  bool operator==(const PeersOutput&) const = default;
};

struct PeersLimits {
  static constexpr size_t kMaxLocalAddress = 6;
  static constexpr size_t kMaxPeers = 128;  // the reference answers at most 128 in total
  static constexpr size_t kMaxLocalPeers = 32;
};

Bytes EncodePeersInput(const PeersInput& in);
Result<PeersInput> DecodePeersInput(ByteView value);
Bytes EncodePeersOutput(const PeersOutput& out);
Result<PeersOutput> DecodePeersOutput(ByteView value);

}  // namespace hyper::swarm
