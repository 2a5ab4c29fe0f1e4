#include "hyper/util/bytes.h"

namespace hyper {

std::string ToHex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); i++) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

static int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("hex string has an odd length");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("not a hex digit at position " +
                                     std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void PutUint64BE(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
uint64_t GetUint64BE(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | in[i];
  return v;
}
void PutUint32BE(uint8_t* out, uint32_t v) {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}
uint32_t GetUint32BE(const uint8_t* in) {
  return uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 | in[3];
}
void PutUint16BE(uint8_t* out, uint16_t v) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}
uint16_t GetUint16BE(const uint8_t* in) { return static_cast<uint16_t>(in[0] << 8 | in[1]); }

}  // namespace hyper
