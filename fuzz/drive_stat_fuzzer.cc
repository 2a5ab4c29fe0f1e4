// Fuzzes the hyperdrive Stat and Mount decoders: any bytes decode or fail cleanly, and what
// decodes encodes to bytes that decode to the same Stat.
#include <cstdint>
#include <cstdlib>

#include "hyper/drive/drive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper;
  ByteView in(data, size);
  (void)drive::MountRecord::Decode(in);
  auto st = drive::Stat::Decode(in);
  if (!st.ok()) return 0;
  Bytes once = st->Encode();
  auto again = drive::Stat::Decode(once);
  if (!again.ok()) std::abort();
  if (again->Encode() != once) std::abort();
  return 0;
}
