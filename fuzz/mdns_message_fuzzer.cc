// Fuzzes the mDNS decoder: what decodes must re-encode and decode to the same message. Then the
// bytes go, as a datagram from the group, to a LanDiscovery (on a virtual clock) that announces
// and looks up the topic 0xab * 32 (the name of the seed corpus's packets, captured from Node's
// @hyperswarm/discovery): it must neither crash nor send more than one small answer.
#include <cstdint>
#include <cstdlib>

#include "hyper/runtime/virtual_clock.h"
#include "hyper/swarm/lan_discovery.h"
#include "hyper/swarm/mdns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper;
  using namespace hyper::swarm;
  const ByteView in(data, size);
  auto m = DecodeMdnsMessage(in);
  if (m.ok()) {
    auto bytes = EncodeMdnsMessage(*m);
    if (!bytes.ok()) std::abort();
    auto back = DecodeMdnsMessage(*bytes);
    if (!back.ok() || !(*back == *m)) std::abort();
  }
  runtime::VirtualClock clock;
  size_t datagrams = 0;
  size_t sent = 0;
  LanDiscovery lan(clock, [&](const UdpEndpoint&, ByteView d) {
    ++datagrams;
    sent += d.size();
  });
  Key32 topic{};
  topic.fill(0xab);
  size_t peers = 0;
  if (!lan.Announce(topic, 4000).ok() ||
      !lan.Lookup(topic, [&](const UdpEndpoint&) { ++peers; }).ok()) {
    std::abort();
  }
  lan.OnDatagram({"127.0.0.1", 5353}, in);
  // One answer of one topic: its SRV, TXT and A records.
  if (datagrams > 1 || sent > 512) std::abort();
  // At most one peer per SRV record, and never more records than the limit.
  if (peers > MdnsLimits::kMaxRecords) std::abort();
  return 0;
}
