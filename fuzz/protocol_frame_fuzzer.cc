// Fuzzes the frame splitter and every message decoder behind it (the decrypted wire).
#include <cstdint>

#include "hyper/protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper::protocol;
  Limits limits;
  limits.max_frame_bytes = 1 << 16;
  FrameDecoder dec(limits);
  hyper::ByteView in(data, size);
  // Feed in two pieces to exercise the buffering path.
  size_t half = size / 2;
  auto on_frame = [&](uint64_t, uint8_t type, hyper::ByteView body) {
    auto m = DecodeBody(type, body, limits);
    if (m.ok()) (void)EncodeBody(*m);
    return hyper::Status::Ok();
  };
  if (dec.Feed(in.subspan(0, half), on_frame).ok()) (void)dec.Feed(in.subspan(half), on_frame);
  return 0;
}
