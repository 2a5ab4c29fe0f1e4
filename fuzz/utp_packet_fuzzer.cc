// Fuzzes the uTP packet decoder: whatever decodes must re-encode (known extensions only) to a
// datagram that decodes to the same header, selective ack and payload, and every view must lie
// inside the input.
#include <cstdint>
#include <cstdlib>

#include "hyper/utp/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper;
  using namespace hyper::utp;
  const ByteView in(data, size);
  auto p = DecodePacket(in);
  if (p.ok() && !IsUtpDatagram(in)) std::abort();  // what decodes, the demux must claim
  if (!p.ok()) return 0;
  auto inside = [&](ByteView v) {
    return v.empty() || (v.data() >= data && v.data() + v.size() <= data + size);
  };
  if (!inside(p->payload) || !inside(p->selective_ack)) std::abort();
  const Bytes wire = EncodePacket(p->header, p->payload, p->has_selective_ack, p->selective_ack);
  auto back = DecodePacket(wire);
  if (!back.ok() || !(back->header == p->header) ||
      back->has_selective_ack != p->has_selective_ack ||
      ToBytes(back->payload) != ToBytes(p->payload) ||
      ToBytes(back->selective_ack) != ToBytes(p->selective_ack)) {
    std::abort();
  }
  return 0;
}
