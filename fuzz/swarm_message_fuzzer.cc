// Fuzzes the DHT's decoders (the first byte picks one): Message, Holepunch, PeersInput,
// PeersOutput, node and peer lists; what decodes must re-encode to the same value. Selector 6
// feeds the bytes as a datagram to a persistent DhtNode serving `peers` (on a virtual clock),
// which must neither crash nor answer with more than a bounded number of bytes.
#include <cstdint>
#include <cstdlib>

#include "hyper/runtime/virtual_clock.h"
#include "hyper/swarm/compact_address.h"
#include "hyper/swarm/dht_node.h"
#include "hyper/swarm/message.h"
#include "hyper/swarm/peers.h"
#include "hyper/swarm/peers_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper;
  using namespace hyper::swarm;
  if (size < 1) return 0;
  const ByteView in(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0: {
      auto m = DecodeMessage(in);
      if (!m.ok()) return 0;
      auto back = DecodeMessage(EncodeMessage(*m));
      if (!back.ok() || !(*back == *m)) std::abort();
      break;
    }
    case 1: {
      auto h = DecodeHolepunch(in);
      if (!h.ok()) return 0;
      auto back = DecodeHolepunch(EncodeHolepunch(*h));
      if (!back.ok() || !(*back == *h)) std::abort();
      break;
    }
    case 2: {
      auto p = DecodePeersInput(in);
      if (!p.ok()) return 0;
      auto back = DecodePeersInput(EncodePeersInput(*p));
      if (!back.ok() || !(*back == *p)) std::abort();
      break;
    }
    case 3: {
      auto p = DecodePeersOutput(in);
      if (!p.ok()) return 0;
      auto back = DecodePeersOutput(EncodePeersOutput(*p));
      if (!back.ok() || !(*back == *p)) std::abort();
      break;
    }
    case 4: {
      auto n = DecodeNodes(in, 64);
      if (!n.ok()) return 0;
      auto back = DecodeNodes(EncodeNodes(*n), 64);
      if (!back.ok() || !(*back == *n)) std::abort();
      break;
    }
    case 5: {
      auto p = DecodePeers(in, 128);
      if (!p.ok()) return 0;
      auto back = DecodePeers(EncodePeers(*p), 128);
      if (!back.ok() || !(*back == *p)) std::abort();
      break;
    }
    default: {
      runtime::VirtualClock clock;
      size_t sent = 0;
      DhtNodeOptions options;
      options.ephemeral = false;
      DhtNode node(
          clock, [&](const UdpEndpoint&, ByteView d) { sent += d.size(); }, options);
      PeerStore store(clock);
      ServePeers(node, store);
      node.OnDatagram({"127.0.0.2", 4000}, in);
      // An answer is at most the closest 20 nodes, a token and a bounded value.
      if (sent > 4096) std::abort();
      break;
    }
  }
  return 0;
}
