// Fuzzes what a responder accepts before and during the Noise handshake: the length prefix,
// the Noise message parsing and the NoisePayload.
#include <cstdint>

#include "hyper/crypto/crypto.h"
#include "hyper/protocol/stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper::protocol;
  static bool init = hyper::crypto::Init().ok();
  (void)init;
  static const DhKeyPair key = DhKeyPairFromSeed(hyper::Bytes(32, 1));
  StreamOptions o;
  o.key_pair = key;
  ProtocolStream stream(std::move(o));
  size_t third = size / 3;
  hyper::ByteView in(data, size);
  if (stream.Recv(in.subspan(0, third)).ok()) (void)stream.Recv(in.subspan(third));
  (void)stream.TakeOutput();
  return 0;
}
