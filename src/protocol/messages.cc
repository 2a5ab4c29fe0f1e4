#include "hyper/protocol/messages.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "hyper/util/protobuf.h"
#include "hyper/util/varint.h"

namespace hyper::protocol {
namespace {

Status WrongType(uint32_t field) {
  return Status::Corruption("protobuf field " + std::to_string(field) + " has the wrong wire type");
}

Status Missing(std::string_view what) {
  return Status::Corruption("message misses its required field " + std::string(what));
}

// Reads a uint64 field (wire type varint).
Status ReadU64(const pb::Field& f, uint64_t* out) {
  if (f.type != pb::WireType::kVarint) return WrongType(f.number);
  *out = f.varint;
  return Status::Ok();
}
Status ReadU64(const pb::Field& f, std::optional<uint64_t>* out) {
  uint64_t v = 0;
  RETURN_IF_ERROR(ReadU64(f, &v));
  *out = v;
  return Status::Ok();
}
Status ReadBool(const pb::Field& f, std::optional<bool>* out) {
  if (f.type != pb::WireType::kVarint) return WrongType(f.number);
  *out = f.varint != 0;
  return Status::Ok();
}
Status ReadBytes(const pb::Field& f, Bytes* out) {
  if (f.type != pb::WireType::kBytes) return WrongType(f.number);
  *out = ToBytes(f.bytes);
  return Status::Ok();
}
Status ReadBytes(const pb::Field& f, std::optional<Bytes>* out) {
  Bytes b;
  RETURN_IF_ERROR(ReadBytes(f, &b));
  *out = std::move(b);
  return Status::Ok();
}

pb::Limits PbLimits(const Limits& limits) {
  pb::Limits l;
  l.max_message_bytes = limits.max_frame_bytes;
  l.max_fields = 4096 + limits.max_data_nodes + limits.max_extensions;
  return l;
}

// Calls fn(field) for every field; fn returns a Status.
template <typename Fn>
Status ForEachField(ByteView body, const Limits& limits, Fn&& fn) {
  pb::Reader r(body, PbLimits(limits));
  pb::Field f;
  while (true) {
    ASSIGN_OR_RETURN(bool more, r.Next(&f));
    if (!more) return Status::Ok();
    RETURN_IF_ERROR(fn(f));
  }
}

Result<Message> DecodeOpen(ByteView body, const Limits& limits) {
  OpenMessage m;
  bool has_dk = false;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    if (f.number == 1) {
      has_dk = true;
      return ReadBytes(f, &m.discovery_key);
    }
    if (f.number == 2) return ReadBytes(f, &m.capability);
    return Status::Ok();
  }));
  if (!has_dk) return Missing("discoveryKey");
  if (m.discovery_key.size() != 32)
    return Status::Corruption("Open: discovery key is not 32 bytes");
  if (m.capability && m.capability->size() != 32) {
    return Status::Corruption("Open: capability is not 32 bytes");
  }
  return Message(std::move(m));
}

Result<Message> DecodeOptions(ByteView body, const Limits& limits) {
  OptionsMessage m;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    if (f.number == 1) {
      if (f.type != pb::WireType::kBytes) return WrongType(1);
      if (m.extensions.size() >= limits.max_extensions) {
        return Status::Corruption("Options: too many extensions");
      }
      if (f.bytes.size() > limits.max_extension_name) {
        return Status::Corruption("Options: extension name too long");
      }
      m.extensions.emplace_back(AsString(f.bytes));
      return Status::Ok();
    }
    if (f.number == 2) return ReadBool(f, &m.ack);
    return Status::Ok();
  }));
  return Message(std::move(m));
}

Result<Message> DecodeStatus(ByteView body, const Limits& limits) {
  StatusMessage m;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    if (f.number == 1) return ReadBool(f, &m.uploading);
    if (f.number == 2) return ReadBool(f, &m.downloading);
    return Status::Ok();
  }));
  return Message(m);
}

Result<Message> DecodeHave(ByteView body, const Limits& limits) {
  HaveMessage m;
  bool has_start = false;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    switch (f.number) {
      case 1:
        has_start = true;
        return ReadU64(f, &m.start);
      case 2:
        return ReadU64(f, &m.length);
      case 3:
        return ReadBytes(f, &m.bitfield);
      case 4:
        return ReadBool(f, &m.ack);
      default:
        return Status::Ok();
    }
  }));
  if (!has_start) return Missing("start");
  return Message(std::move(m));
}

// Unhave, Want and Unwant share the shape {start, length}.
template <typename M>
Result<Message> DecodeRange(ByteView body, const Limits& limits) {
  M m;
  bool has_start = false;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    if (f.number == 1) {
      has_start = true;
      return ReadU64(f, &m.start);
    }
    if (f.number == 2) return ReadU64(f, &m.length);
    return Status::Ok();
  }));
  if (!has_start) return Missing("start");
  return Message(m);
}

// Request and Cancel share {index, bytes, hash}; a Request also has {nodes}.
template <typename M>
Result<Message> DecodeBlockRequest(ByteView body, const Limits& limits) {
  M m;
  bool has_index = false;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    switch (f.number) {
      case 1:
        has_index = true;
        return ReadU64(f, &m.index);
      case 2:
        return ReadU64(f, &m.bytes);
      case 3:
        return ReadBool(f, &m.hash);
      case 4:
        if constexpr (std::is_same_v<M, RequestMessage>) return ReadU64(f, &m.nodes);
        return Status::Ok();
      default:
        return Status::Ok();
    }
  }));
  if (!has_index) return Missing("index");
  return Message(m);
}

Result<DataNode> DecodeDataNode(ByteView body, const Limits& limits) {
  DataNode n;
  bool has_index = false, has_hash = false, has_size = false;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    switch (f.number) {
      case 1:
        has_index = true;
        return ReadU64(f, &n.index);
      case 2:
        if (f.type != pb::WireType::kBytes) return WrongType(2);
        if (f.bytes.size() != n.hash.size())
          return Status::Corruption("Data: node hash is not 32 bytes");
        std::copy(f.bytes.begin(), f.bytes.end(), n.hash.begin());
        has_hash = true;
        return Status::Ok();
      case 3:
        has_size = true;
        return ReadU64(f, &n.size);
      default:
        return Status::Ok();
    }
  }));
  if (!has_index || !has_hash || !has_size) return Missing("node index/hash/size");
  return n;
}

Result<Message> DecodeData(ByteView body, const Limits& limits) {
  DataMessage m;
  bool has_index = false;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    switch (f.number) {
      case 1:
        has_index = true;
        return ReadU64(f, &m.index);
      case 2:
        return ReadBytes(f, &m.value);
      case 3: {
        if (f.type != pb::WireType::kBytes) return WrongType(3);
        if (m.nodes.size() >= limits.max_data_nodes)
          return Status::Corruption("Data: too many nodes");
        ASSIGN_OR_RETURN(DataNode n, DecodeDataNode(f.bytes, limits));
        m.nodes.push_back(n);
        return Status::Ok();
      }
      case 4: {
        if (f.type != pb::WireType::kBytes) return WrongType(4);
        crypto::Signature sig{};
        if (f.bytes.size() != sig.size())
          return Status::Corruption("Data: signature is not 64 bytes");
        std::copy(f.bytes.begin(), f.bytes.end(), sig.begin());
        m.signature = sig;
        return Status::Ok();
      }
      default:
        return Status::Ok();
    }
  }));
  if (!has_index) return Missing("index");
  return Message(std::move(m));
}

Result<Message> DecodeClose(ByteView body, const Limits& limits) {
  CloseMessage m;
  RETURN_IF_ERROR(ForEachField(body, limits, [&](const pb::Field& f) -> Status {
    if (f.number == 1) return ReadBytes(f, &m.discovery_key);
    return Status::Ok();
  }));
  if (m.discovery_key && m.discovery_key->size() != 32) {
    return Status::Corruption("Close: discovery key is not 32 bytes");
  }
  return Message(std::move(m));
}

Result<Message> DecodeExtension(ByteView body) {
  size_t n = 0;
  ASSIGN_OR_RETURN(uint64_t id, DecodeVarint(body, &n));
  ExtensionMessage m;
  m.id = id;
  m.payload = ToBytes(body.subspan(n));
  return Message(std::move(m));
}

// Two writers with pb::Writer's encoding (tag, then a varint or a length-prefixed byte string):
// SizeWriter counts the bytes, AppendWriter appends them to a buffer that already holds other
// frames. So a frame is written in place: its length first, then its body, without building
// the body in a buffer of its own and copying it (a Data message carries a whole block).
struct SizeWriter {
  size_t n = 0;
  void Varint(uint32_t field, uint64_t v) {
    n += VarintLength(uint64_t{field} << 3) + VarintLength(v);
  }
  void Bool(uint32_t field, bool v) { Varint(field, v ? 1 : 0); }
  // The tag and length of a nested message (its fields are counted as they are written).
  void Nested(uint32_t field, size_t size) {
    n += VarintLength(uint64_t{field} << 3 | 2) + VarintLength(size);
  }
  void Raw(ByteView v) { n += v.size(); }
  void BytesField(uint32_t field, ByteView v) {
    Nested(field, v.size());
    Raw(v);
  }
  void String(uint32_t field, std::string_view v) { BytesField(field, AsBytes(v)); }
};

struct AppendWriter {
  Bytes& out;
  void Varint(uint32_t field, uint64_t v) {
    AppendVarint(out, uint64_t{field} << 3);
    AppendVarint(out, v);
  }
  void Bool(uint32_t field, bool v) { Varint(field, v ? 1 : 0); }
  // The tag and length of a nested message whose fields follow.
  void Nested(uint32_t field, size_t size) {
    AppendVarint(out, uint64_t{field} << 3 | 2);
    AppendVarint(out, size);
  }
  void Raw(ByteView v) { out.insert(out.end(), v.begin(), v.end()); }
  void BytesField(uint32_t field, ByteView v) {
    Nested(field, v.size());
    Raw(v);
  }
  void String(uint32_t field, std::string_view v) { BytesField(field, AsBytes(v)); }
};

template <typename W>
void EncodeDataNode(W& w, const DataNode& n) {
  w.Varint(1, n.index);
  w.BytesField(2, n.hash);
  w.Varint(3, n.size);
}

// Writes the body of a message with W (field order as the reference's encoder).
template <typename W>
struct BodyEncoder {
  W& w;
  void operator()(const OpenMessage& m) {
    w.BytesField(1, m.discovery_key);
    if (m.capability) w.BytesField(2, *m.capability);
  }
  void operator()(const OptionsMessage& m) {
    for (const auto& e : m.extensions) w.String(1, e);
    if (m.ack) w.Bool(2, *m.ack);
  }
  void operator()(const StatusMessage& m) {
    if (m.uploading) w.Bool(1, *m.uploading);
    if (m.downloading) w.Bool(2, *m.downloading);
  }
  void operator()(const HaveMessage& m) {
    w.Varint(1, m.start);
    if (m.length) w.Varint(2, *m.length);
    if (m.bitfield) w.BytesField(3, *m.bitfield);
    if (m.ack) w.Bool(4, *m.ack);
  }
  // Unhave, Want and Unwant: {start, length}.
  template <typename M>
    requires std::is_same_v<M, UnhaveMessage> || std::is_same_v<M, WantMessage> ||
             std::is_same_v<M, UnwantMessage>
  void operator()(const M& m) {
    w.Varint(1, m.start);
    if (m.length) w.Varint(2, *m.length);
  }
  // Request and Cancel: {index, bytes, hash}, and a Request's {nodes}.
  template <typename M>
    requires std::is_same_v<M, RequestMessage> || std::is_same_v<M, CancelMessage>
  void operator()(const M& m) {
    w.Varint(1, m.index);
    if (m.bytes) w.Varint(2, *m.bytes);
    if (m.hash) w.Bool(3, *m.hash);
    if constexpr (std::is_same_v<M, RequestMessage>) {
      if (m.nodes) w.Varint(4, *m.nodes);
    }
  }
  void operator()(const DataMessage& m) {
    w.Varint(1, m.index);
    if (m.value) w.BytesField(2, *m.value);
    for (const auto& n : m.nodes) {
      SizeWriter size;
      EncodeDataNode(size, n);
      w.Nested(3, size.n);
      EncodeDataNode(w, n);
    }
    if (m.signature) w.BytesField(4, *m.signature);
  }
  void operator()(const CloseMessage& m) {
    if (m.discovery_key) w.BytesField(1, *m.discovery_key);
  }
  // Not protobuf: varint(id) then the extension's bytes.
  void operator()(const ExtensionMessage& m) {
    if constexpr (std::is_same_v<W, SizeWriter>) {
      w.n += VarintLength(m.id);
    } else {
      AppendVarint(w.out, m.id);
    }
    w.Raw(m.payload);
  }
  void operator()(const UnknownMessage&) {}
};

size_t BodySize(const Message& m) {
  SizeWriter size;
  std::visit(BodyEncoder<SizeWriter>{size}, m);
  return size.n;
}

// Room for `more` bytes at the end of `out`, growing geometrically (a frame appended to a
// large buffer must not make every later append reallocate).
void Reserve(Bytes& out, size_t more) {
  size_t need = out.size() + more;
  if (need > out.capacity()) out.reserve(std::max(need, 2 * out.capacity()));
}

}  // namespace

MessageType TypeOf(const Message& m) {
  struct V {
    MessageType operator()(const OpenMessage&) { return MessageType::kOpen; }
    MessageType operator()(const OptionsMessage&) { return MessageType::kOptions; }
    MessageType operator()(const StatusMessage&) { return MessageType::kStatus; }
    MessageType operator()(const HaveMessage&) { return MessageType::kHave; }
    MessageType operator()(const UnhaveMessage&) { return MessageType::kUnhave; }
    MessageType operator()(const WantMessage&) { return MessageType::kWant; }
    MessageType operator()(const UnwantMessage&) { return MessageType::kUnwant; }
    MessageType operator()(const RequestMessage&) { return MessageType::kRequest; }
    MessageType operator()(const CancelMessage&) { return MessageType::kCancel; }
    MessageType operator()(const DataMessage&) { return MessageType::kData; }
    MessageType operator()(const CloseMessage&) { return MessageType::kClose; }
    MessageType operator()(const ExtensionMessage&) { return MessageType::kExtension; }
    MessageType operator()(const UnknownMessage& u) { return static_cast<MessageType>(u.type); }
  };
  return std::visit(V{}, m);
}

std::string_view TypeName(MessageType type) {
  switch (type) {
    case MessageType::kOpen:
      return "Open";
    case MessageType::kOptions:
      return "Options";
    case MessageType::kStatus:
      return "Status";
    case MessageType::kHave:
      return "Have";
    case MessageType::kUnhave:
      return "Unhave";
    case MessageType::kWant:
      return "Want";
    case MessageType::kUnwant:
      return "Unwant";
    case MessageType::kRequest:
      return "Request";
    case MessageType::kCancel:
      return "Cancel";
    case MessageType::kData:
      return "Data";
    case MessageType::kClose:
      return "Close";
    case MessageType::kExtension:
      return "Extension";
  }
  return "Unknown";
}

Bytes EncodeBody(const Message& m) {
  Bytes out;
  out.reserve(BodySize(m));
  AppendWriter w{out};
  std::visit(BodyEncoder<AppendWriter>{w}, m);
  return out;
}

Result<Message> DecodeBody(uint8_t type, ByteView body, const Limits& limits) {
  if (body.size() > limits.max_frame_bytes)
    return Status::Corruption("message over the frame limit");
  switch (type) {
    case 0:
      return DecodeOpen(body, limits);
    case 1:
      return DecodeOptions(body, limits);
    case 2:
      return DecodeStatus(body, limits);
    case 3:
      return DecodeHave(body, limits);
    case 4:
      return DecodeRange<UnhaveMessage>(body, limits);
    case 5:
      return DecodeRange<WantMessage>(body, limits);
    case 6:
      return DecodeRange<UnwantMessage>(body, limits);
    case 7:
      return DecodeBlockRequest<RequestMessage>(body, limits);
    case 8:
      return DecodeBlockRequest<CancelMessage>(body, limits);
    case 9:
      return DecodeData(body, limits);
    case 10:
      return DecodeClose(body, limits);
    case 15:
      return DecodeExtension(body);
    default:
      if (type > 15) return Status::Corruption("message type above 15");
      return Message(UnknownMessage{type});
  }
}

void AppendFrame(Bytes& out, uint64_t channel, const Message& m) {
  size_t body = BodySize(m);
  uint64_t header = (channel << 4) | static_cast<uint8_t>(TypeOf(m));
  uint64_t len = VarintLength(header) + body;
  Reserve(out, VarintLength(len) + len);
  AppendVarint(out, len);
  AppendVarint(out, header);
  AppendWriter w{out};
  std::visit(BodyEncoder<AppendWriter>{w}, m);
}

Bytes EncodeFrame(uint64_t channel, const Message& m) {
  Bytes out;
  AppendFrame(out, channel, m);
  return out;
}

Bytes EncodeNoisePayload(ByteView nonce) {
  pb::Writer w;
  w.BytesField(1, nonce);
  return w.Take();
}

Result<std::array<uint8_t, kNonceBytes>> DecodeNoisePayload(ByteView payload) {
  Limits limits;
  limits.max_frame_bytes = 65535;
  std::optional<Bytes> nonce;
  RETURN_IF_ERROR(ForEachField(payload, limits, [&](const pb::Field& f) -> Status {
    if (f.number == 1) return ReadBytes(f, &nonce);
    return Status::Ok();
  }));
  if (!nonce) return Missing("nonce");
  if (nonce->size() != kNonceBytes) return Status::Corruption("handshake nonce is not 24 bytes");
  std::array<uint8_t, kNonceBytes> out{};
  std::copy(nonce->begin(), nonce->end(), out.begin());
  return out;
}

Status FrameDecoder::Feed(ByteView in, const OnFrame& on_frame) {
  if (!broken_.ok()) return broken_;
  size_t pos = 0;
  auto fail = [&](Status s) {
    broken_ = s;
    return s;
  };
  while (pos < in.size()) {
    if (state_ == State::kLength) {
      uint8_t b = in[pos++];
      if (varint_bytes_ >= 8) return fail(Status::Corruption("frame length varint is too long"));
      varint_ |= uint64_t{b & 0x7fu} << (7 * varint_bytes_);
      ++varint_bytes_;
      if (b & 0x80) continue;
      length_ = varint_;
      varint_ = 0;
      varint_bytes_ = 0;
      if (length_ == 0) {
        ++keep_alives_;
        continue;
      }
      if (length_ > limits_.max_frame_bytes) {
        return fail(Status::Corruption("incoming frame of " + std::to_string(length_) +
                                       " bytes is larger than the limit"));
      }
      state_ = State::kBody;
      body_.clear();
      continue;
    }
    // kBody: take what we can; when the frame is in one piece in `in`, do not copy it.
    size_t want = length_ - body_.size();
    size_t take = std::min(want, in.size() - pos);
    ByteView frame;
    if (body_.empty() && take == want) {
      frame = in.subspan(pos, take);
    } else {
      body_.insert(body_.end(), in.begin() + static_cast<ptrdiff_t>(pos),
                   in.begin() + static_cast<ptrdiff_t>(pos + take));
      if (body_.size() < length_) {
        pos += take;
        continue;
      }
      frame = body_;
    }
    pos += take;
    state_ = State::kLength;
    size_t n = 0;
    auto header = DecodeVarint(frame, &n);
    if (!header.ok()) return fail(Status::Corruption("bad frame header"));
    uint64_t channel = *header >> 4;
    if (channel > limits_.max_channel_id) {
      return fail(
          Status::Corruption("channel id " + std::to_string(channel) + " is over the limit"));
    }
    Status s = on_frame(channel, static_cast<uint8_t>(*header & 15), frame.subspan(n));
    body_.clear();
    if (!s.ok()) return fail(s);
  }
  return Status::Ok();
}

// ---- bitfield-rle ----
//
// A sequence of varint-headed runs: an odd header h is a repeat of (h >> 2) bytes, all 0xff
// when bit 1 is set and all 0x00 otherwise; an even header h is followed by h / 2 literal bytes.

Bytes RleEncode(ByteView input) {
  size_t input_len = input.size();
  while (input_len > 0 && input[input_len - 1] == 0) --input_len;
  Bytes out;
  size_t input_offset = 0;

  auto encode_head = [&](size_t end) {
    size_t head = end - input_offset;
    AppendVarint(out, 2 * head);
    out.insert(out.end(), input.begin() + static_cast<ptrdiff_t>(input_offset),
               input.begin() + static_cast<ptrdiff_t>(end));
  };
  // Mirrors the reference's cost model so that the output is identical.
  auto encode_update = [&](size_t i, size_t len, uint8_t bits) {
    size_t head = i - len - input_offset;
    size_t head_cost = head ? VarintLength(2 * head) + head : 0;
    uint64_t enc = 4 * uint64_t{len} + (bits ? 2 : 0) + 1;
    size_t enc_cost = head_cost + VarintLength(enc);
    size_t base_cost = VarintLength(2 * (i - input_offset)) + i - input_offset;
    if (enc_cost >= base_cost) return;
    if (head) encode_head(i - len);
    AppendVarint(out, enc);
    input_offset = i;
  };

  size_t len = 0;
  uint8_t bits = 0;
  for (size_t i = 0; i < input_len; ++i) {
    if (input[i] == bits) {
      ++len;
      continue;
    }
    if (len) encode_update(i, len, bits);
    if (input[i] == 0 || input[i] == 255) {
      bits = input[i];
      len = 1;
    } else {
      len = 0;
    }
  }
  if (len) encode_update(input_len, len, bits);
  if (input_len > input_offset) encode_head(input_len);
  return out;
}

Result<Bytes> RleDecode(ByteView encoded, size_t max_bytes, size_t align) {
  if (align == 0) align = 1;
  // First pass: the decoded size, without allocating.
  uint64_t total = 0;
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t n = 0;
    ASSIGN_OR_RETURN(uint64_t next, DecodeVarint(encoded.subspan(pos), &n));
    pos += n;
    bool repeat = next & 1;
    uint64_t len = repeat ? next >> 2 : next >> 1;
    if (!repeat) {
      if (len > encoded.size() - pos) return Status::Corruption("RLE bitfield is truncated");
      pos += len;
    }
    if (len > max_bytes || total + len > max_bytes) {
      return Status::Corruption("RLE bitfield decodes to more than " + std::to_string(max_bytes) +
                                " bytes");
    }
    total += len;
  }
  uint64_t padded = total % align ? total + (align - total % align) : total;
  Bytes out(padded, 0);
  pos = 0;
  size_t ptr = 0;
  while (pos < encoded.size()) {
    size_t n = 0;
    uint64_t next = *DecodeVarint(encoded.subspan(pos), &n);
    pos += n;
    bool repeat = next & 1;
    size_t len = repeat ? next >> 2 : next >> 1;
    if (repeat) {
      std::fill_n(out.begin() + static_cast<ptrdiff_t>(ptr), len, (next & 2) ? 0xff : 0x00);
    } else {
      std::copy_n(encoded.begin() + static_cast<ptrdiff_t>(pos), len,
                  out.begin() + static_cast<ptrdiff_t>(ptr));
      pos += len;
    }
    ptr += len;
  }
  return out;
}

}  // namespace hyper::protocol
