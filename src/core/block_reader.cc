// BlockReader: the streaming read of a range of blocks (see include/hyper/core/block_reader.h).
#include "hyper/core/block_reader.h"

#include <cstring>

#include "src/core/leaf_hasher.h"

namespace hyper::core {

struct BlockReader::Chunk {
  std::unique_ptr<uint8_t[]> buffer;  // kChunkBytes, allocated on first use, never zeroed
  uint64_t bytes = 0;
  BlockRun run;  // empty when the chunk is one block delivered by Get (checked there)
  std::vector<ByteView> unchecked;     // the blocks still to hash
  std::vector<uint64_t> unchecked_at;  // their index in the run
  std::vector<crypto::Hash> hashes;    // their hashes, as computed
  std::unique_ptr<LeafHasher> hasher;  // set while they are hashed
};

BlockReader::BlockReader(Feed& feed, BlockIndex first, BlockIndex end, GetOptions options)
    : feed_(feed), next_(first.value), end_(end.value), options_(options) {}

BlockReader::~BlockReader() {
  // A check in flight ends before its buffer goes.
  for (auto& c : chunks_) {
    if (c) c->hasher.reset();
  }
}

Status BlockReader::Fill(int i) {
  if (!chunks_[i]) chunks_[i] = std::make_unique<Chunk>();
  Chunk& c = *chunks_[i];
  if (!c.buffer) c.buffer = std::make_unique_for_overwrite<uint8_t[]>(kChunkBytes);
  MutableByteView buffer(c.buffer.get(), kChunkBytes);
  c.unchecked.clear();
  c.unchecked_at.clear();
  auto run = feed_.ReadRun(BlockIndex(next_), BlockIndex(end_), buffer);
  if (run.ok()) {
    c.run = std::move(run).value();
    c.bytes = c.run.bytes;
    uint64_t at = 0;
    for (uint64_t k = 0; k < c.run.count(); ++k) {
      if (!c.run.verified[k]) {
        c.unchecked.push_back(ByteView(buffer.data() + at, c.run.sizes[k]));
        c.unchecked_at.push_back(k);
      }
      at += c.run.sizes[k];
    }
    c.hashes.resize(c.unchecked.size());
    next_ += c.run.count();
    return Status::Ok();
  }
  if (run.status().code() != Code::kNotFound) return run.status();
  // Not local (or not located from held nodes): one block through Get, which fetches it and
  // checks it.
  ASSIGN_OR_RETURN(Bytes block, feed_.Get(BlockIndex(next_), options_));
  if (block.size() > kChunkBytes) return Status::Corruption("a block larger than 8 MiB");
  if (!block.empty()) std::memcpy(buffer.data(), block.data(), block.size());
  c.run = BlockRun{};
  c.bytes = block.size();
  ++next_;
  return Status::Ok();
}

void BlockReader::StartCheck(int i) {
  Chunk& c = *chunks_[i];
  if (c.unchecked.empty()) return;
  c.hasher = std::make_unique<LeafHasher>(c.unchecked, c.hashes);
  c.hasher->Start();
}

Status BlockReader::FinishCheck(int i) {
  Chunk& c = *chunks_[i];
  if (c.unchecked.empty()) return Status::Ok();
  if (!c.hasher) {  // never started: hash here
    c.hasher = std::make_unique<LeafHasher>(c.unchecked, c.hashes);
  }
  c.hasher->Finish();
  c.hasher.reset();
  for (size_t j = 0; j < c.unchecked.size(); ++j) {
    const uint64_t k = c.unchecked_at[j];
    if (c.hashes[j] != c.run.leaf_hashes[k]) {
      return Status::Corruption("block " + std::to_string(c.run.first.value + k) +
                                " does not match its hash");
    }
  }
  feed_.RememberVerified(c.run);
  return Status::Ok();
}

Result<ByteView> BlockReader::Next() {
  auto fail = [this](Status s) {
    for (auto& c : chunks_) {
      if (c) c->hasher.reset();
    }
    in_flight_ = -1;
    failed_ = s;
    return s;
  };
  while (true) {
    RETURN_IF_ERROR(failed_);
    if (in_flight_ < 0) {
      if (next_ >= end_) return ByteView();
      Status s = Fill(0);
      if (!s.ok()) return fail(s);
      StartCheck(0);
      in_flight_ = 0;
    }
    const int current = in_flight_;
    const int other = 1 - current;
    // The next chunk is read while the current one is hashed. A failed read is reported by the
    // next call (the bytes already checked are returned first).
    bool have_next = false;
    Status read_next;
    if (next_ < end_) {
      read_next = Fill(other);
      have_next = read_next.ok();
    }
    Status checked = FinishCheck(current);
    if (!checked.ok()) return fail(checked);
    if (have_next) {
      StartCheck(other);
      in_flight_ = other;
    } else {
      in_flight_ = -1;
      if (!read_next.ok()) failed_ = read_next;
    }
    // A chunk of empty blocks only: on to the next (an empty result means the end).
    if (chunks_[current]->bytes > 0) {
      return ByteView(chunks_[current]->buffer.get(), chunks_[current]->bytes);
    }
  }
}

}  // namespace hyper::core
