#include "hyper/swarm/peers_message.h"

#include <string>

#include "hyper/util/protobuf.h"

namespace hyper::swarm {
namespace {

pb::Limits ValueLimits() {
  pb::Limits l;
  l.max_message_bytes = 8192;
  l.max_field_number = 64;
  l.max_fields = 64;
  return l;
}

Result<Bytes> Take(const pb::Field& f, const char* name, size_t limit) {
  if (f.type != pb::WireType::kBytes) {
    return Status::Corruption(std::string(name) + " is not length-delimited");
  }
  if (f.bytes.size() > limit) {
    return Status::Corruption(std::string(name) + " is " + std::to_string(f.bytes.size()) +
                              " bytes, over the limit of " + std::to_string(limit));
  }
  return ToBytes(f.bytes);
}

}  // namespace

Bytes EncodePeersInput(const PeersInput& in) {
  pb::Writer w;
  if (in.port) w.Varint(1, *in.port);
  if (in.local_address) w.BytesField(2, *in.local_address);
  if (in.unannounce) w.Bool(3, *in.unannounce);
  return w.Take();
}

Result<PeersInput> DecodePeersInput(ByteView value) {
  PeersInput in;
  pb::Reader r(value, ValueLimits());
  pb::Field f;
  while (true) {
    auto more = r.Next(&f);
    if (!more.ok()) return more.status().Annotate("PeersInput");
    if (!*more) break;
    if (f.number == 1 || f.number == 3) {
      if (f.type != pb::WireType::kVarint) {
        return Status::Corruption("PeersInput: field " + std::to_string(f.number) +
                                  " is not a varint");
      }
      if (f.number == 1) {
        if (f.varint > 0xffffffffULL) return Status::Corruption("PeersInput: port over 32 bits");
        in.port = static_cast<uint32_t>(f.varint);
      } else {
        in.unannounce = f.varint != 0;
      }
    } else if (f.number == 2) {
      auto v = Take(f, "PeersInput: localAddress", PeersLimits::kMaxLocalAddress);
      if (!v.ok()) return v.status();
      in.local_address = std::move(*v);
    }
  }
  return in;
}

Bytes EncodePeersOutput(const PeersOutput& out) {
  pb::Writer w;
  if (out.peers) w.BytesField(1, *out.peers);
  if (out.local_peers) w.BytesField(2, *out.local_peers);
  return w.Take();
}

Result<PeersOutput> DecodePeersOutput(ByteView value) {
  PeersOutput out;
  pb::Reader r(value, ValueLimits());
  pb::Field f;
  while (true) {
    auto more = r.Next(&f);
    if (!more.ok()) return more.status().Annotate("PeersOutput");
    if (!*more) break;
    if (f.number == 1) {
      auto v = Take(f, "PeersOutput: peers", PeersLimits::kMaxPeers * 6);
      if (!v.ok()) return v.status();
      out.peers = std::move(*v);
    } else if (f.number == 2) {
      auto v = Take(f, "PeersOutput: localPeers", PeersLimits::kMaxLocalPeers * 4);
      if (!v.ok()) return v.status();
      out.local_peers = std::move(*v);
    }
  }
  return out;
}

}  // namespace hyper::swarm
