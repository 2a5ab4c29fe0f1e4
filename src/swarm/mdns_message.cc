#include "hyper/swarm/mdns_message.h"

#include <charconv>
#include <string_view>

namespace hyper::swarm {
namespace {

constexpr size_t kHeaderBytes = 12;

Status Bad(std::string_view why) { return Status::Corruption("mDNS message: " + std::string(why)); }

// Reads a datagram front to back; every read checks that the bytes are there.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}

  size_t pos() const { return pos_; }
  size_t left() const { return in_.size() - pos_; }

  Result<uint16_t> U16(std::string_view what) {
    if (left() < 2) return Bad(std::string(what) + " runs off the end");
    const uint16_t v = GetUint16BE(in_.data() + pos_);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> U32(std::string_view what) {
    if (left() < 4) return Bad(std::string(what) + " runs off the end");
    const uint32_t v = GetUint32BE(in_.data() + pos_);
    pos_ += 4;
    return v;
  }
  Result<ByteView> Take(size_t n, std::string_view what) {
    if (left() < n) return Bad(std::string(what) + " runs off the end");
    ByteView v = in_.subspan(pos_, n);
    pos_ += n;
    return v;
  }

  // A name at the current position, following compression pointers (each must point before
  // the part of the name that holds it, so that reading always ends); the position moves past
  // the name's own bytes: up to its terminator or its first pointer.
  Result<std::string> Name() {
    std::string name;
    size_t encoded = 1;  // the final zero
    size_t at = pos_;
    size_t segment_start = pos_;
    size_t jumps = 0;
    bool jumped = false;
    for (;;) {
      if (at >= in_.size()) return Bad("a name runs off the end");
      const uint8_t len = in_[at];
      if (len == 0) {
        ++at;
        break;
      }
      if ((len & 0xc0) == 0xc0) {
        if (at + 1 >= in_.size()) return Bad("a name's pointer runs off the end");
        const size_t target = GetUint16BE(in_.data() + at) & 0x3fffu;
        if (target >= segment_start) return Bad("a name's pointer does not point backwards");
        if (++jumps > MdnsLimits::kMaxPointers) return Bad("a name follows too many pointers");
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        segment_start = target;
        continue;
      }
      if ((len & 0xc0) != 0) return Bad("a name has a label of an unknown kind");
      if (at + 1 + len > in_.size()) return Bad("a name's label runs off the end");
      encoded += 1 + len;
      if (encoded > MdnsLimits::kMaxName) return Bad("a name is over 255 bytes");
      const std::string_view label(reinterpret_cast<const char*>(in_.data() + at + 1), len);
      if (label.find('.') != std::string_view::npos) return Bad("a name's label holds a dot");
      if (!name.empty()) name.push_back('.');
      name.append(label);
      at += 1 + len;
    }
    if (!jumped) pos_ = at;
    return name;
  }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

class Writer {
 public:
  void U16(uint16_t v) {
    uint8_t b[2];
    PutUint16BE(b, v);
    out_.insert(out_.end(), b, b + 2);
  }
  void U32(uint32_t v) {
    uint8_t b[4];
    PutUint32BE(b, v);
    out_.insert(out_.end(), b, b + 4);
  }
  void Byte(uint8_t v) { out_.push_back(v); }
  void Append(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }

  // Uncompressed; "" is the root (one zero byte).
  Status Name(const std::string& name) {
    size_t encoded = 1;
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      const size_t len = dot - start;
      if (len == 0 || dot + 1 == name.size()) {
        return Status::InvalidArgument("mDNS name with an empty label: " + name);
      }
      if (len > MdnsLimits::kMaxLabel) {
        return Status::InvalidArgument("mDNS name with a label over 63 bytes: " + name);
      }
      encoded += 1 + len;
      if (encoded > MdnsLimits::kMaxName) {
        return Status::InvalidArgument("mDNS name over 255 bytes: " + name);
      }
      Byte(static_cast<uint8_t>(len));
      Append(AsBytes(std::string_view(name).substr(start, len)));
      start = dot + 1;
    }
    Byte(0);
    return Status::Ok();
  }

  // Reserves a 16-bit length for PatchLength.
  size_t ReserveLength() {
    const size_t at = out_.size();
    U16(0);
    return at;
  }
  // Writes the length of what was appended after the one reserved at `at`.
  void PatchLength(size_t at) {
    PutUint16BE(out_.data() + at, static_cast<uint16_t>(out_.size() - at - 2));
  }
  size_t size() const { return out_.size(); }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

// The data of `rec` (whose type is set), `rdlength` bytes at the reader's position.
Status DecodeData(Reader& r, uint16_t rdlength, MdnsRecord& rec) {
  const size_t end = r.pos() + rdlength;
  if (rec.type == kDnsTypeA) {
    if (rdlength != 4) return Bad("an A record's data is not 4 bytes");
    ASSIGN_OR_RETURN(ByteView a, r.Take(4, "an A record"));
    std::copy(a.begin(), a.end(), rec.address.begin());
    return Status::Ok();
  }
  if (rec.type == kDnsTypeSrv) {
    if (rdlength < 7) return Bad("an SRV record's data is under 7 bytes");
    ASSIGN_OR_RETURN(rec.priority, r.U16("an SRV record"));
    ASSIGN_OR_RETURN(rec.weight, r.U16("an SRV record"));
    ASSIGN_OR_RETURN(rec.port, r.U16("an SRV record"));
    ASSIGN_OR_RETURN(rec.target, r.Name());
    if (r.pos() != end) return Bad("an SRV record's target does not end its data");
    return Status::Ok();
  }
  // TXT: length-prefixed strings that fill the data exactly.
  while (r.pos() < end) {
    ASSIGN_OR_RETURN(ByteView len, r.Take(1, "a TXT string"));
    if (r.pos() + len[0] > end) return Bad("a TXT string runs past its record");
    ASSIGN_OR_RETURN(ByteView s, r.Take(len[0], "a TXT string"));
    rec.strings.push_back(ToBytes(s));
  }
  return Status::Ok();
}

// One resource record; kept in `out` when it is an SRV, TXT or A record and `keep` is set.
Status DecodeRecord(Reader& r, bool keep, std::vector<MdnsRecord>& out) {
  MdnsRecord rec;
  ASSIGN_OR_RETURN(rec.name, r.Name());
  ASSIGN_OR_RETURN(rec.type, r.U16("a record's type"));
  ASSIGN_OR_RETURN(rec.rclass, r.U16("a record's class"));
  ASSIGN_OR_RETURN(rec.ttl, r.U32("a record's TTL"));
  ASSIGN_OR_RETURN(uint16_t rdlength, r.U16("a record's length"));
  if (r.left() < rdlength) return Bad("a record's data runs off the end");
  const bool known = rec.type == kDnsTypeA || rec.type == kDnsTypeSrv || rec.type == kDnsTypeTxt;
  if (!keep || !known) {
    RETURN_IF_ERROR(r.Take(rdlength, "a record's data").status());
    return Status::Ok();
  }
  RETURN_IF_ERROR(DecodeData(r, rdlength, rec));
  out.push_back(std::move(rec));
  return Status::Ok();
}

Status EncodeRecord(Writer& w, const MdnsRecord& rec) {
  RETURN_IF_ERROR(w.Name(rec.name));
  w.U16(rec.type);
  w.U16(rec.rclass);
  w.U32(rec.ttl);
  const size_t length_at = w.ReserveLength();
  if (rec.type == kDnsTypeA) {
    w.Append(rec.address);
  } else if (rec.type == kDnsTypeSrv) {
    w.U16(rec.priority);
    w.U16(rec.weight);
    w.U16(rec.port);
    RETURN_IF_ERROR(w.Name(rec.target));
  } else if (rec.type == kDnsTypeTxt) {
    for (const Bytes& s : rec.strings) {
      if (s.size() > 255) return Status::InvalidArgument("TXT string over 255 bytes");
      w.Byte(static_cast<uint8_t>(s.size()));
      w.Append(s);
      if (w.size() > MdnsLimits::kMaxMessage) {
        return Status::InvalidArgument("mDNS message over 9000 bytes");
      }
    }
  } else {
    return Status::InvalidArgument("mDNS record of type " + std::to_string(rec.type) +
                                   " (only SRV, TXT and A are written)");
  }
  w.PatchLength(length_at);
  return Status::Ok();
}

}  // namespace

std::string FormatIpv4(const std::array<uint8_t, 4>& address) {
  return std::to_string(address[0]) + "." + std::to_string(address[1]) + "." +
         std::to_string(address[2]) + "." + std::to_string(address[3]);
}

Result<std::array<uint8_t, 4>> ParseIpv4(const std::string& text) {
  std::array<uint8_t, 4> out{};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') break;
      ++p;
    }
    unsigned v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p || next - p > 3 || v > 255) break;
    out[i] = static_cast<uint8_t>(v);
    p = next;
    if (i == 3 && p == end) return out;
  }
  return Status::InvalidArgument("not a dotted IPv4 address: " + text);
}

Result<Bytes> EncodeMdnsMessage(const MdnsMessage& m) {
  if (m.questions.size() > MdnsLimits::kMaxQuestions) {
    return Status::InvalidArgument("mDNS message with over 32 questions");
  }
  if (m.answers.size() > MdnsLimits::kMaxRecords) {
    return Status::InvalidArgument("mDNS message with over 64 records");
  }
  Writer w;
  w.U16(m.id);
  w.U16(m.flags);
  w.U16(static_cast<uint16_t>(m.questions.size()));
  w.U16(static_cast<uint16_t>(m.answers.size()));
  w.U16(0);
  w.U16(0);
  for (const MdnsQuestion& q : m.questions) {
    RETURN_IF_ERROR(w.Name(q.name));
    w.U16(q.type);
    w.U16(q.qclass);
  }
  for (const MdnsRecord& rec : m.answers) {
    RETURN_IF_ERROR(EncodeRecord(w, rec));
    if (w.size() > MdnsLimits::kMaxMessage) {
      return Status::InvalidArgument("mDNS message over 9000 bytes");
    }
  }
  return w.Take();
}

Result<MdnsMessage> DecodeMdnsMessage(ByteView datagram) {
  if (datagram.size() > MdnsLimits::kMaxMessage) return Bad("over 9000 bytes");
  if (datagram.size() < kHeaderBytes) return Bad("shorter than its 12-byte header");
  Reader r(datagram);
  MdnsMessage m;
  ASSIGN_OR_RETURN(m.id, r.U16("the header"));
  ASSIGN_OR_RETURN(m.flags, r.U16("the header"));
  ASSIGN_OR_RETURN(uint16_t questions, r.U16("the header"));
  ASSIGN_OR_RETURN(uint16_t answers, r.U16("the header"));
  ASSIGN_OR_RETURN(uint16_t authorities, r.U16("the header"));
  ASSIGN_OR_RETURN(uint16_t additionals, r.U16("the header"));
  if (questions > MdnsLimits::kMaxQuestions) return Bad("over 32 questions");
  if (size_t{answers} + authorities + additionals > MdnsLimits::kMaxRecords) {
    return Bad("over 64 records");
  }
  for (uint16_t i = 0; i < questions; ++i) {
    MdnsQuestion q;
    ASSIGN_OR_RETURN(q.name, r.Name());
    ASSIGN_OR_RETURN(q.type, r.U16("a question's type"));
    ASSIGN_OR_RETURN(q.qclass, r.U16("a question's class"));
    m.questions.push_back(std::move(q));
  }
  for (uint16_t i = 0; i < answers; ++i) RETURN_IF_ERROR(DecodeRecord(r, true, m.answers));
  for (size_t i = 0; i < size_t{authorities} + additionals; ++i) {
    RETURN_IF_ERROR(DecodeRecord(r, false, m.answers));
  }
  return m;
}

}  // namespace hyper::swarm
