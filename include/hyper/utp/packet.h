// The uTP packet (BEP 29, version 1), as libutp (utp-native 2.5.3) puts it on the wire: a
// 20-byte big-endian header, a chain of extensions (1: selective ack, 2: extension bits, others
// skipped), then the payload. Decoding never allocates and never reads past the datagram: the
// views it returns point into the datagram. See docs/utp.md.
#pragma once

#include <cstdint>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::utp {

inline constexpr size_t kHeaderSize = 20;
inline constexpr uint8_t kVersion = 1;

enum class PacketType : uint8_t { kData = 0, kFin = 1, kState = 2, kReset = 3, kSyn = 4 };
const char* PacketTypeName(PacketType type);

enum class ExtensionType : uint8_t { kNone = 0, kSelectiveAck = 1, kExtensionBits = 2 };

struct PacketHeader {
  PacketType type = PacketType::kData;
  uint16_t connection_id = 0;
  uint32_t timestamp_us = 0;             // the sender's clock, microseconds mod 2^32
  uint32_t timestamp_difference_us = 0;  // the sender's last measured one-way delay sample
  uint32_t wnd_size = 0;                 // bytes the sender can still receive
  uint16_t seq_nr = 0;
  uint16_t ack_nr = 0;
  bool operator==(const PacketHeader&) const = default;
};

// A decoded datagram; the views point into the datagram it was decoded from.
struct PacketView {
  PacketHeader header;
  // The selective ack bitmask (extension 1) when present (the last one when several): bit i
  // (least significant bit of byte i/8 first) says whether ack_nr + 2 + i was received.
  bool has_selective_ack = false;
  ByteView selective_ack;
  ByteView payload;
};

// True when a datagram is one that libutp's utp_process_udp claims: at least a header long and
// version 1 in the low nibble of the first byte. Everything else on a shared socket is someone
// else's (the DHT's). See docs/utp.md, "Sharing the socket".
bool IsUtpDatagram(ByteView datagram);

// Decodes a datagram. Corruption (with the reason) for one shorter than a header, another
// version, an unknown type, an extension running past the end, or extension bits that are not
// 8 bytes long.
Result<PacketView> DecodePacket(ByteView datagram);

// The wire bytes of a packet. `selective_ack` (a multiple of 4 bytes as libutp sends; at most 255,
// what the length byte holds) is sent as extension 1 when `has_selective_ack`.
Bytes EncodePacket(const PacketHeader& header, ByteView payload, bool has_selective_ack = false,
                   ByteView selective_ack = {});

// Writes just the 20-byte header (no extension) into out[0..20).
void EncodeHeader(const PacketHeader& header, uint8_t extension, uint8_t* out);

}  // namespace hyper::utp
