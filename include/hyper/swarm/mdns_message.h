// The DNS messages of multicast DNS, as far as LAN discovery needs them (@hyperswarm/discovery
// 2 speaks through multicast-dns 7 / dns-packet 5): the header, the questions, and the SRV, TXT
// and A records of the answer section. Sans-IO and bounded: names are checked label by label
// (compression pointers followed backwards only, a name at most 255 bytes), the numbers of
// questions and records are capped, records of other types (and every record of the authority
// and additional sections) are checked for their framing and skipped. Names are encoded
// uncompressed, as dns-packet does, so our packets are byte for byte the reference's.
// See docs/formats/mdns.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::swarm {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeTxt = 16;
inline constexpr uint16_t kDnsTypeSrv = 33;
inline constexpr uint16_t kDnsClassIn = 1;
inline constexpr uint16_t kDnsFlagResponse = 0x8000;       // QR
inline constexpr uint16_t kDnsFlagAuthoritative = 0x0400;  // AA, set on every mDNS response

struct MdnsLimits {
  static constexpr size_t kMaxMessage = 9000;  // RFC 6762 section 17
  static constexpr size_t kMaxQuestions = 32;
  static constexpr size_t kMaxRecords = 64;  // in all four sections together
  static constexpr size_t kMaxName = 255;    // encoded, as RFC 1035 says
  static constexpr size_t kMaxLabel = 63;
  static constexpr size_t kMaxPointers = 32;  // compression jumps within one name
};

struct MdnsQuestion {
  std::string name;  // labels joined by '.', without the trailing dot
  uint16_t type = kDnsTypeSrv;
  uint16_t qclass = kDnsClassIn;  // as sent (its top bit asks for a unicast answer)
  bool operator==(const MdnsQuestion&) const = default;
};

// One SRV, TXT or A record; the fields of the other types are left empty.
struct MdnsRecord {
  std::string name;
  uint16_t type = kDnsTypeSrv;
  uint16_t rclass = kDnsClassIn;  // as sent (its top bit is mDNS's cache-flush bit)
  uint32_t ttl = 0;
  // SRV
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;
  // TXT: its character strings (each at most 255 bytes)
  std::vector<Bytes> strings;
  // A
  std::array<uint8_t, 4> address{};
  bool operator==(const MdnsRecord&) const = default;
};

struct MdnsMessage {
  uint16_t id = 0;
  uint16_t flags = 0;  // QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode as sent
  std::vector<MdnsQuestion> questions;
  std::vector<MdnsRecord> answers;  // the SRV, TXT and A records of the answer section
  bool response() const { return (flags & kDnsFlagResponse) != 0; }
  bool operator==(const MdnsMessage&) const = default;
};

// The dotted text of an A record's address, and back (InvalidArgument if not dotted IPv4).
std::string FormatIpv4(const std::array<uint8_t, 4>& address);
Result<std::array<uint8_t, 4>> ParseIpv4(const std::string& text);

// InvalidArgument when a name has an empty label or one over 63 bytes, is over 255 bytes
// encoded, when a TXT string is over 255 bytes, or when there are more questions or records
// than the limits allow; no authority or additional records are written.
Result<Bytes> EncodeMdnsMessage(const MdnsMessage& m);
// Corruption (saying what) on a datagram over kMaxMessage bytes, a short header, a name that
// runs off the end, points forwards or loops, a bad label, a record whose data does not fit
// its length, or more questions or records than the limits. Bytes after the last record are
// ignored, as dns-packet does.
Result<MdnsMessage> DecodeMdnsMessage(ByteView datagram);

}  // namespace hyper::swarm
