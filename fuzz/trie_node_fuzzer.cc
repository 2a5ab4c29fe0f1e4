// Fuzzes the hypertrie node, header and trie-index decoders: any bytes decode or fail cleanly,
// and a node that decodes only points back in time.
#include <cstdint>
#include <cstdlib>

#include "hyper/trie/node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper;
  if (size < 2) return 0;
  uint64_t seq = uint64_t{data[0]} << 8 | data[1];
  ByteView block(data + 2, size - 2);
  trie::NodeLimits limits;
  limits.max_key_bytes = 4096;
  auto node = trie::Node::Decode(block, seq, limits);
  if (node.ok()) {
    node->trie().ForEach([&](size_t i, trie::Bucket bucket) {
      for (uint64_t slot : bucket) {
        if (slot >= seq) std::abort();  // the decoder refuses forward pointers
      }
      if (node->trie().at(i).size() != bucket.size()) std::abort();
    });
  }
  (void)trie::Header::Decode(block);
  (void)trie::DecodeTrieIndex(block, limits);
  return 0;
}
