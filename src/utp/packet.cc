#include "hyper/utp/packet.h"

#include <algorithm>
#include <string>

namespace hyper::utp {

const char* PacketTypeName(PacketType type) {
  switch (type) {
    case PacketType::kData:
      return "DATA";
    case PacketType::kFin:
      return "FIN";
    case PacketType::kState:
      return "STATE";
    case PacketType::kReset:
      return "RESET";
    case PacketType::kSyn:
      return "SYN";
  }
  return "?";
}

bool IsUtpDatagram(ByteView datagram) {
  return datagram.size() >= kHeaderSize && (datagram[0] & 0x0f) == kVersion;
}

void EncodeHeader(const PacketHeader& header, uint8_t extension, uint8_t* out) {
  out[0] = static_cast<uint8_t>((static_cast<uint8_t>(header.type) << 4) | kVersion);
  out[1] = extension;
  PutUint16BE(out + 2, header.connection_id);
  PutUint32BE(out + 4, header.timestamp_us);
  PutUint32BE(out + 8, header.timestamp_difference_us);
  PutUint32BE(out + 12, header.wnd_size);
  PutUint16BE(out + 16, header.seq_nr);
  PutUint16BE(out + 18, header.ack_nr);
}

Result<PacketView> DecodePacket(ByteView datagram) {
  if (datagram.size() < kHeaderSize) {
    return Status::Corruption("utp: datagram of " + std::to_string(datagram.size()) +
                              " bytes is shorter than the 20-byte header");
  }
  const uint8_t* p = datagram.data();
  if ((p[0] & 0x0f) != kVersion) {
    return Status::Corruption("utp: version " + std::to_string(p[0] & 0x0f) + " (want 1)");
  }
  const uint8_t type = p[0] >> 4;
  if (type > static_cast<uint8_t>(PacketType::kSyn)) {
    return Status::Corruption("utp: unknown packet type " + std::to_string(type));
  }
  PacketView out;
  out.header.type = static_cast<PacketType>(type);
  out.header.connection_id = GetUint16BE(p + 2);
  out.header.timestamp_us = GetUint32BE(p + 4);
  out.header.timestamp_difference_us = GetUint32BE(p + 8);
  out.header.wnd_size = GetUint32BE(p + 12);
  out.header.seq_nr = GetUint16BE(p + 16);
  out.header.ack_nr = GetUint16BE(p + 18);

  // The extension chain: each link names the type of the next one; 0 ends it.
  uint8_t extension = p[1];
  size_t at = kHeaderSize;
  while (extension != 0) {
    if (datagram.size() - at < 2) {
      return Status::Corruption("utp: extension " + std::to_string(extension) +
                                " header runs past the end of the datagram");
    }
    const uint8_t next = datagram[at];
    const size_t length = datagram[at + 1];
    at += 2;
    if (datagram.size() - at < length) {
      return Status::Corruption("utp: extension " + std::to_string(extension) + " of " +
                                std::to_string(length) + " bytes runs past the end");
    }
    if (extension == static_cast<uint8_t>(ExtensionType::kSelectiveAck)) {
      out.has_selective_ack = true;
      out.selective_ack = datagram.subspan(at, length);
    } else if (extension == static_cast<uint8_t>(ExtensionType::kExtensionBits) && length != 8) {
      return Status::Corruption("utp: extension bits of " + std::to_string(length) +
                                " bytes (want 8)");
    }
    // Unknown extensions are skipped, as libutp does.
    at += length;
    extension = next;
  }
  out.payload = datagram.subspan(at);
  return out;
}

Bytes EncodePacket(const PacketHeader& header, ByteView payload, bool has_selective_ack,
                   ByteView selective_ack) {
  if (selective_ack.size() > 255) selective_ack = selective_ack.first(255);  // one length byte
  const size_t sack = has_selective_ack ? 2 + selective_ack.size() : 0;
  Bytes out(kHeaderSize + sack + payload.size());
  EncodeHeader(header, has_selective_ack ? static_cast<uint8_t>(ExtensionType::kSelectiveAck) : 0,
               out.data());
  size_t at = kHeaderSize;
  if (has_selective_ack) {
    out[at++] = 0;  // no further extension
    out[at++] = static_cast<uint8_t>(selective_ack.size());
    std::copy(selective_ack.begin(), selective_ack.end(), out.begin() + static_cast<long>(at));
    at += selective_ack.size();
  }
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<long>(at));
  return out;
}

}  // namespace hyper::utp
