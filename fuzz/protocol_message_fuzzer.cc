// Fuzzes one message body of a given type (first byte): decode, and if it decodes, the
// re-encoding must decode to the same message.
#include <cstdint>
#include <cstdlib>

#include "hyper/protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper::protocol;
  if (size < 1) return 0;
  uint8_t type = data[0] & 15;
  auto m = DecodeBody(type, hyper::ByteView(data + 1, size - 1));
  if (!m.ok()) return 0;
  hyper::Bytes again = EncodeBody(*m);
  auto back = DecodeBody(type, again);
  if (!back.ok() || !(*back == *m)) std::abort();
  return 0;
}
