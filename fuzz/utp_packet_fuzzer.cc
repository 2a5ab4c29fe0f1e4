// Fuzzes uTP's untrusted input; the first byte picks what:
//  even: the packet decoder. Whatever decodes must re-encode (known extensions only) to a
//        datagram that decodes to the same header, selective ack and payload; every view lies
//        inside the input; what decodes is what the demux claims.
//  odd:  a Multiplexer with one established connection (on a virtual clock) is fed the rest as
//        datagrams: [flags][length][bytes]...; flag bit 0 patches in the connection's id so
//        that the packet reaches the Connection, bits 1-3 advance the clock. Nothing may crash
//        and what it sends stays bounded.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "hyper/runtime/virtual_clock.h"
#include "hyper/utp/multiplexer.h"
#include "hyper/utp/packet.h"

namespace {

using namespace hyper;
using namespace hyper::utp;

void FuzzDecoder(ByteView in) {
  auto p = DecodePacket(in);
  if (p.ok() && !IsUtpDatagram(in)) std::abort();
  if (!p.ok()) return;
  auto inside = [&](ByteView v) {
    return v.empty() || (v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size());
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
}

void FuzzMultiplexer(ByteView in) {
  const runtime::UdpEndpoint a_address{"10.0.0.1", 1}, b_address{"10.0.0.2", 2};
  runtime::VirtualClock clock;
  size_t sent_by_a = 0;
  std::vector<Bytes> to_a, to_b;
  MultiplexerOptions oa, ob;
  oa.random = [n = 1000u]() mutable { return n++; };
  ob.random = [n = 9000u]() mutable { return n++; };
  Multiplexer a(
      clock,
      [&](const runtime::UdpEndpoint&, ByteView d) {
        sent_by_a += d.size();
        to_b.push_back(ToBytes(d));
      },
      oa);
  Multiplexer b(
      clock, [&](const runtime::UdpEndpoint&, ByteView d) { to_a.push_back(ToBytes(d)); }, ob);
  std::shared_ptr<Connection> accepted;
  b.set_accept(
      [&](const std::shared_ptr<Connection>& c, const runtime::UdpEndpoint&) { accepted = c; });
  auto c = a.Connect(b_address, {});
  if (!c.ok()) std::abort();
  for (const auto& d : to_b) b.OnDatagram(a_address, d);
  for (const auto& d : to_a) a.OnDatagram(b_address, d);
  (*c)->Write(Bytes(20000, 'x'));
  size_t datagrams = 0;
  for (size_t at = 0; at + 2 <= in.size();) {
    const uint8_t flags = in[at];
    const size_t length = std::min<size_t>(in[at + 1], in.size() - at - 2);
    Bytes d(in.begin() + static_cast<long>(at + 2),
            in.begin() + static_cast<long>(at + 2 + length));
    at += 2 + length;
    if ((flags & 1) != 0 && d.size() >= 4) PutUint16BE(d.data() + 2, (*c)->receive_id());
    a.OnDatagram(b_address, d);
    ++datagrams;
    clock.Advance(std::chrono::milliseconds(((flags >> 1) & 7) * 250));
  }
  // Each datagram in is answered by at most a few packets (an ack, up to 4 resends, new data
  // as the window allows): never more than the data written plus a bound per datagram.
  if (sent_by_a > 40000 + 2000 * (datagrams + 1) * 8) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const ByteView in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzDecoder(in);
  } else {
    FuzzMultiplexer(in);
  }
  return 0;
}
