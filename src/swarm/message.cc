#include "hyper/swarm/message.h"

#include <string_view>

#include "hyper/util/protobuf.h"

namespace hyper::swarm {
namespace {

pb::Limits DatagramLimits() {
  pb::Limits l;
  l.max_message_bytes = MessageLimits::kMaxDatagram;
  l.max_field_number = 64;
  l.max_fields = 256;
  return l;
}

Status BadField(std::string_view what, std::string_view why) {
  return Status::Corruption("DHT message: " + std::string(what) + " " + std::string(why));
}

// Copies a length-delimited field after checking its wire type and its limit.
Result<Bytes> TakeBytes(const pb::Field& f, std::string_view name, size_t limit) {
  if (f.type != pb::WireType::kBytes) return BadField(name, "is not length-delimited");
  if (f.bytes.size() > limit) {
    return BadField(name, "is " + std::to_string(f.bytes.size()) + " bytes, over the limit of " +
                              std::to_string(limit));
  }
  return ToBytes(f.bytes);
}

Result<uint64_t> TakeVarint(const pb::Field& f, std::string_view name) {
  if (f.type != pb::WireType::kVarint) return BadField(name, "is not a varint");
  return f.varint;
}

struct BytesSlot {
  std::optional<Bytes>* member;
  const char* name;
  size_t limit;
};

// The bytes fields of Message by number (10, 3, 4, 5, 6, 9).
BytesSlot SlotOf(Message& m, uint32_t number) {
  switch (number) {
    case 10:
      return {&m.to, "to", MessageLimits::kMaxTo};
    case 3:
      return {&m.id, "id", MessageLimits::kMaxId};
    case 4:
      return {&m.target, "target", MessageLimits::kMaxTarget};
    case 5:
      return {&m.closer_nodes, "closerNodes", MessageLimits::kMaxCloserNodes};
    case 6:
      return {&m.roundtrip_token, "roundtripToken", MessageLimits::kMaxToken};
    default:
      return {&m.value, "value", MessageLimits::kMaxValue};
  }
}

}  // namespace

Bytes EncodeMessage(const Message& m) {
  // The reference's order: version (11) first, then by field number except `to` (10) after rid.
  pb::Writer w;
  if (m.version) w.Varint(11, *m.version);
  w.Varint(1, static_cast<uint64_t>(m.type));
  w.Varint(2, m.rid);
  if (m.to) w.BytesField(10, *m.to);
  if (m.id) w.BytesField(3, *m.id);
  if (m.target) w.BytesField(4, *m.target);
  if (m.closer_nodes) w.BytesField(5, *m.closer_nodes);
  if (m.roundtrip_token) w.BytesField(6, *m.roundtrip_token);
  if (m.command) w.String(7, *m.command);
  if (m.error) w.String(8, *m.error);
  if (m.value) w.BytesField(9, *m.value);
  if (m.padding) w.BytesField(15, *m.padding);
  return w.Take();
}

Result<Message> DecodeMessage(ByteView datagram) {
  if (datagram.size() > MessageLimits::kMaxDatagram) {
    return Status::Corruption("DHT message: larger than a UDP datagram");
  }
  Message m;
  bool have_type = false;
  bool have_rid = false;
  pb::Reader r(datagram, DatagramLimits());
  pb::Field f;
  while (true) {
    auto more = r.Next(&f);
    if (!more.ok()) return more.status().Annotate("DHT message");
    if (!*more) break;
    switch (f.number) {
      case 11: {
        auto v = TakeVarint(f, "version");
        if (!v.ok()) return v.status();
        m.version = *v;
        break;
      }
      case 1: {
        auto v = TakeVarint(f, "type");
        if (!v.ok()) return v.status();
        if (*v < 1 || *v > 3) return BadField("type", "is " + std::to_string(*v) + ", not 1-3");
        m.type = static_cast<MessageType>(*v);
        have_type = true;
        break;
      }
      case 2: {
        auto v = TakeVarint(f, "rid");
        if (!v.ok()) return v.status();
        m.rid = *v;
        have_rid = true;
        break;
      }
      case 10:
      case 3:
      case 4:
      case 5:
      case 6:
      case 9: {
        const BytesSlot slot = SlotOf(m, f.number);
        auto v = TakeBytes(f, slot.name, slot.limit);
        if (!v.ok()) return v.status();
        *slot.member = std::move(*v);
        break;
      }
      case 7:
      case 8: {
        const bool is_command = f.number == 7;
        auto v = TakeBytes(f, is_command ? "command" : "error",
                           is_command ? MessageLimits::kMaxCommand : MessageLimits::kMaxError);
        if (!v.ok()) return v.status();
        std::string s(v->begin(), v->end());
        if (is_command) {
          m.command = std::move(s);
        } else {
          m.error = std::move(s);
        }
        break;
      }
      default:
        break;  // unknown fields (and our padding, 15) are skipped, as protobuf does
    }
  }
  if (!have_type) return Status::Corruption("DHT message: type is missing");
  if (!have_rid) return Status::Corruption("DHT message: rid is missing");
  return m;
}

Bytes EncodeHolepunch(const Holepunch& h) {
  pb::Writer w;
  if (h.from) w.BytesField(2, *h.from);
  if (h.to) w.BytesField(3, *h.to);
  return w.Take();
}

Result<Holepunch> DecodeHolepunch(ByteView value) {
  Holepunch h;
  pb::Reader r(value, DatagramLimits());
  pb::Field f;
  while (true) {
    auto more = r.Next(&f);
    if (!more.ok()) return more.status().Annotate("Holepunch");
    if (!*more) break;
    if (f.number != 2 && f.number != 3) continue;
    auto v = TakeBytes(f, f.number == 2 ? "holepunch from" : "holepunch to", MessageLimits::kMaxTo);
    if (!v.ok()) return v.status();
    (f.number == 2 ? h.from : h.to) = std::move(*v);
  }
  return h;
}

}  // namespace hyper::swarm
