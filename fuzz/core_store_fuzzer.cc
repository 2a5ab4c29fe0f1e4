// Fuzzes opening a damaged hypercore store: a valid feed of a few blocks is written in memory,
// the input damages one of its files (byte patches, or a truncation), and the feed is opened
// and read. Opening may fail and blocks may be missing or Corruption, but a block that is
// returned is always the block that was appended.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "hyper/core/feed.h"

namespace {

using namespace hyper;

const char* const kFiles[] = {"key", "secret_key", "tree", "data", "signatures", "bitfield"};

struct Original {
  std::vector<Bytes> blocks;
  std::map<std::string, Bytes> files;
};

const Original& Base() {
  static const Original base = [] {
    Original o;
    storage::MemoryDirectory dir;
    core::FeedOptions options;
    auto kp = crypto::KeyPairFromSeed(Bytes(32, 9));
    options.key = kp.public_key;
    options.secret_key = kp.secret_key;
    auto feed = std::move(core::Feed::Open(dir.factory(), options)).value();
    for (int i = 0; i < 5; i++) {
      o.blocks.push_back(Bytes(static_cast<size_t>(1 + i * 37), static_cast<uint8_t>('a' + i)));
    }
    (void)feed->Append(o.blocks[0]);
    std::vector<ByteView> batch(o.blocks.begin() + 1, o.blocks.end());
    (void)feed->Append(batch);
    (void)feed->Close();
    for (const char* name : kFiles) {
      auto f = std::move(dir.factory()(name)).value();
      o.files[name] = std::move(storage::ReadBytes(*f, 0, *f->Size())).value();
    }
    return o;
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Original& base = Base();
  if (size < 2) return 0;
  std::string target = kFiles[data[0] % 6];
  std::map<std::string, Bytes> files = base.files;
  Bytes& file = files[target];
  if (data[1] & 0x80) {
    file.resize(std::min<size_t>(file.size(), static_cast<size_t>(data[1] & 0x7f) * 8));
  }
  // Patches: (offset: 2 bytes, xor: 1 byte) triples.
  for (size_t i = 2; i + 2 < size; i += 3) {
    if (file.empty()) break;
    size_t off = (size_t{data[i]} << 8 | data[i + 1]) % file.size();
    file[off] ^= data[i + 2];
  }
  storage::MemoryDirectory dir;
  for (const auto& [name, bytes] : files) {
    auto f = std::move(dir.factory()(name)).value();
    (void)f->Write(0, bytes);
  }
  auto feed = core::Feed::Open(dir.factory());
  if (!feed.ok()) return 0;
  for (uint64_t i = 0; i < (*feed)->length() && i < 64; i++) {
    auto block = (*feed)->Get(BlockIndex(i), {.wait = false});
    if (block.ok() && (i >= base.blocks.size() || *block != base.blocks[i])) std::abort();
    auto part = (*feed)->GetRange(BlockIndex(i), 1, 3, {.wait = false});
    if (part.ok() && i < base.blocks.size()) {
      const Bytes& b = base.blocks[i];
      Bytes want(b.begin() + std::min<size_t>(1, b.size()), b.begin() + std::min<size_t>(4, b.size()));
      if (*part != want) std::abort();
    }
  }
  (void)(*feed)->Audit();
  return 0;
}
