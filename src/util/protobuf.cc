#include "hyper/util/protobuf.h"

#include "hyper/util/varint.h"

namespace hyper::pb {

int64_t ZigZagDecode(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }
uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

void Writer::Tag(uint32_t field, WireType type) {
  AppendVarint(buf_, uint64_t{field} << 3 | static_cast<uint8_t>(type));
}
void Writer::Varint(uint32_t field, uint64_t v) {
  Tag(field, WireType::kVarint);
  AppendVarint(buf_, v);
}
void Writer::SInt(uint32_t field, int64_t v) { Varint(field, ZigZagEncode(v)); }
void Writer::Fixed64(uint32_t field, uint64_t v) {
  Tag(field, WireType::kFixed64);
  for (int i = 0; i < 8; i++) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Writer::Fixed32(uint32_t field, uint32_t v) {
  Tag(field, WireType::kFixed32);
  for (int i = 0; i < 4; i++) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Writer::BytesField(uint32_t field, ByteView v) {
  Tag(field, WireType::kBytes);
  AppendVarint(buf_, v.size());
  buf_.insert(buf_.end(), v.begin(), v.end());
}

Result<bool> Reader::Next(Field* out) {
  if (pos_ == 0 && in_.size() > limits_.max_message_bytes) {
    return Status::Corruption("protobuf message of " + std::to_string(in_.size()) +
                              " bytes is over the limit of " +
                              std::to_string(limits_.max_message_bytes));
  }
  if (pos_ >= in_.size()) return false;
  if (++fields_ > limits_.max_fields) return Status::Corruption("protobuf message has too many fields");
  // Varints the Status-free way; a malformed one (rare) is reported as DecodeVarint words it.
  auto varint = [&](uint64_t* v) -> Status {
    const uint8_t* p = in_.data() + pos_;
    if (DecodeVarint(&p, in_.data() + in_.size(), v)) {
      pos_ = static_cast<size_t>(p - in_.data());
      return Status::Ok();
    }
    size_t n = 0;
    return DecodeVarint(in_.subspan(pos_), &n).status();
  };
  uint64_t tag = 0;
  RETURN_IF_ERROR(varint(&tag));
  uint64_t number = tag >> 3;
  if (number == 0 || number > limits_.max_field_number) {
    return Status::Corruption("protobuf field number " + std::to_string(number) + " is invalid");
  }
  out->number = static_cast<uint32_t>(number);
  out->bytes = {};
  out->varint = 0;
  switch (tag & 7) {
    case 0: {
      out->type = WireType::kVarint;
      RETURN_IF_ERROR(varint(&out->varint));
      return true;
    }
    case 1:
    case 5: {
      size_t width = (tag & 7) == 1 ? 8 : 4;
      out->type = width == 8 ? WireType::kFixed64 : WireType::kFixed32;
      if (in_.size() - pos_ < width) return Status::Corruption("truncated fixed-width protobuf field");
      for (size_t i = 0; i < width; i++) out->varint |= uint64_t{in_[pos_ + i]} << (8 * i);
      pos_ += width;
      return true;
    }
    case 2: {
      out->type = WireType::kBytes;
      uint64_t len = 0;
      RETURN_IF_ERROR(varint(&len));
      if (len > in_.size() - pos_) {
        return Status::Corruption("protobuf field claims " + std::to_string(len) +
                                  " bytes but only " + std::to_string(in_.size() - pos_) +
                                  " remain");
      }
      out->bytes = in_.subspan(pos_, len);
      pos_ += len;
      return true;
    }
    default:
      return Status::Corruption("unsupported protobuf wire type " + std::to_string(tag & 7));
  }
}

}  // namespace hyper::pb
