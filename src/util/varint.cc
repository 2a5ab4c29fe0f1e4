#include "hyper/util/varint.h"

namespace hyper {

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t EncodeVarint(uint8_t* out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}

void AppendVarint(Bytes& out, uint64_t v) {
  uint8_t buf[kMaxVarintLen];
  size_t n = EncodeVarint(buf, v);
  out.insert(out.end(), buf, buf + n);
}

bool DecodeVarintSlow(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  const uint8_t* in = *p;
  const auto size = static_cast<size_t>(end - in);
  uint64_t v = 0;
  for (size_t i = 0; i < size && i < kMaxVarintLen; i++) {
    uint64_t b = in[i];
    if (i == 9 && b > 1) return false;
    v |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *p = in + i + 1;
      *out = v;
      return true;
    }
  }
  return false;
}

Result<uint64_t> DecodeVarint(ByteView in, size_t* consumed) {
  const uint8_t* p = in.data();
  uint64_t v = 0;
  if (DecodeVarint(&p, p + in.size(), &v)) {
    *consumed = static_cast<size_t>(p - in.data());
    return v;
  }
  // It failed: with 10 bytes or more, the first nine continue and the tenth holds more than the
  // last bit of 64; with fewer, the input ends inside the varint.
  if (in.size() >= kMaxVarintLen) return Status::Corruption("varint overflows 64 bits");
  return Status::Corruption("truncated varint");
}

}  // namespace hyper
