// Fuzzes the bounded protobuf reader: every field it returns lies inside the input, and nested
// messages are read the same way (two levels), whatever the bytes.
#include <cstdint>
#include <cstdlib>

#include "hyper/util/protobuf.h"

namespace {

void ReadAll(hyper::ByteView in, int depth) {
  hyper::pb::Limits limits;
  limits.max_message_bytes = 1 << 16;
  limits.max_fields = 4096;
  hyper::pb::Reader reader(in, limits);
  hyper::pb::Field f;
  while (true) {
    auto more = reader.Next(&f);
    if (!more.ok() || !*more) return;
    if (f.type == hyper::pb::WireType::kBytes) {
      if (f.bytes.data() < in.data() || f.bytes.data() + f.bytes.size() > in.data() + in.size()) {
        std::abort();  // a view outside the input
      }
      if (depth < 2) ReadAll(f.bytes, depth + 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ReadAll(hyper::ByteView(data, size), 0);
  return 0;
}
