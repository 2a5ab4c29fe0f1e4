// Fuzzes the bitfield-rle decoder with a small output limit; a decoded bitfield must survive
// encode + decode.
#include <cstdint>
#include <cstdlib>

#include "hyper/protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper::protocol;
  auto bits = RleDecode(hyper::ByteView(data, size), 1 << 16, 1);
  if (!bits.ok()) return 0;
  auto back = RleDecode(RleEncode(*bits), 1 << 16, 1);
  if (!back.ok()) std::abort();
  hyper::Bytes trimmed = *bits;
  while (!trimmed.empty() && trimmed.back() == 0) trimmed.pop_back();
  if (*back != trimmed) std::abort();
  return 0;
}
