// Deduplication of file content within a drive: the index of known files and the matcher of
// a file being written (src/drive/dedup.h, docs/dedup.md).
#include "src/drive/dedup.h"

#include <algorithm>

#include "hyper/drive/drive.h"

namespace hyper::drive::internal {

namespace {

// The blocks copied from a known file are appended in batches of at most this many bytes.
constexpr uint64_t kCopyBatchBytes = 4 << 20;

// The content range a Stat of this drive reads, when it is a file with blocks.
std::optional<ContentRange> RangeOf(const Stat& st) {
  if (!st.IsFile() || st.mount || !st.linkname.empty() || st.blocks == 0) return std::nullopt;
  if (st.offset + st.blocks < st.offset) return std::nullopt;  // a hostile Stat
  return ContentRange{st.offset, st.blocks, st.size};
}

}  // namespace

Status DedupIndex::EnsureBuilt(const trie::Trie& trie) {
  if (built_) return Status::Ok();
  ASSIGN_OR_RETURN(auto it, trie.Iterate("", trie::IterateOptions{}));
  while (true) {
    ASSIGN_OR_RETURN(trie::NodePtr node, it->Next());
    if (!node) break;
    if (node->hidden() || !node->value()) continue;
    auto st = Stat::Decode(*node->value());
    if (!st.ok()) continue;  // not a file this index could point at
    if (auto range = RangeOf(*st)) AddUnchecked(*range, std::nullopt);
  }
  built_ = true;
  return Status::Ok();
}

void DedupIndex::Add(const ContentRange& range, const std::optional<crypto::Hash>& first_leaf) {
  if (built_ && range.blocks > 0) AddUnchecked(range, first_leaf);
}

void DedupIndex::AddUnchecked(const ContentRange& range,
                              const std::optional<crypto::Hash>& first_leaf) {
  if (!known_.emplace(range.offset, range.blocks).second) return;
  Bucket& bucket = by_size_[range.size];
  if (first_leaf) {
    bucket.by_first_leaf.emplace(*first_leaf, range);
  } else {
    bucket.unresolved.push_back(range);
  }
}

bool DedupIndex::HasSize(uint64_t size, bool whole) const {
  return whole ? by_size_.count(size) > 0 : by_size_.lower_bound(size) != by_size_.end();
}

std::vector<ContentRange> DedupIndex::Candidates(const core::Feed& content, uint64_t size,
                                                 bool whole, const crypto::Hash& first_leaf) {
  std::vector<ContentRange> out;
  auto end = whole ? by_size_.upper_bound(size) : by_size_.end();
  for (auto it = by_size_.lower_bound(size); it != end; ++it) {
    Bucket& bucket = it->second;
    for (const ContentRange& range : bucket.unresolved) {
      // A leaf that cannot be read (a sparse replica, a range beyond the feed) leaves the
      // entry out for good.
      auto leaf = content.LeafNodes(BlockIndex(range.offset), BlockIndex(range.offset + 1));
      if (leaf.ok()) bucket.by_first_leaf.emplace(leaf->front().hash, range);
    }
    bucket.unresolved.clear();
    auto [from, to] = bucket.by_first_leaf.equal_range(first_leaf);
    for (auto m = from; m != to; ++m) out.push_back(m->second);
  }
  return out;
}

Result<bool> DedupMatcher::Offer(std::span<const ByteView> blocks, bool last) {
  if (blocks.empty()) return true;
  uint64_t bytes = 0;
  for (ByteView b : blocks) bytes += b.size();
  if (!started_) {
    started_ = true;
    if (!index_->built() && !always_build_ && bytes < kBuildIndexMinBytes &&
        trie_->version() > kBuildIndexMaxVersions) {
      return false;
    }
    RETURN_IF_ERROR(index_->EnsureBuilt(*trie_));
    // No known file is large enough: nothing to hash.
    if (!index_->HasSize(bytes, last)) return false;
    survivors_ = index_->Candidates(*content_, bytes, last, crypto::LeafHash(blocks.front()));
    if (survivors_.empty()) return false;
  }
  std::vector<crypto::Hash> leaves;
  leaves.reserve(blocks.size());
  for (ByteView b : blocks) leaves.push_back(crypto::LeafHash(b));
  const uint64_t want_blocks = matched_blocks_ + blocks.size();
  const uint64_t want_bytes = matched_bytes_ + bytes;
  std::vector<ContentRange> kept;
  for (const ContentRange& c : survivors_) {
    if (c.blocks < want_blocks || c.size < want_bytes) continue;
    if (last && (c.blocks != want_blocks || c.size != want_bytes)) continue;
    const uint64_t first = c.offset + matched_blocks_;
    if (!content_->Has(BlockIndex(first), BlockIndex(first + blocks.size()))) continue;
    auto nodes = content_->LeafNodes(BlockIndex(first), BlockIndex(first + blocks.size()));
    if (!nodes.ok()) continue;
    bool same = true;
    for (size_t k = 0; k < blocks.size() && same; ++k) {
      same = (*nodes)[k].hash == leaves[k] && (*nodes)[k].size == blocks[k].size();
    }
    if (same) kept.push_back(c);
  }
  survivors_ = std::move(kept);
  if (survivors_.empty()) return false;
  matched_blocks_ = want_blocks;
  matched_bytes_ = want_bytes;
  source_ = survivors_.front();
  return true;
}

Result<std::optional<std::pair<ContentRange, uint64_t>>> DedupMatcher::Finish(uint64_t size) {
  using Found = std::optional<std::pair<ContentRange, uint64_t>>;
  if (matched_blocks_ == 0 || size != matched_bytes_) return Found();
  for (const ContentRange& c : survivors_) {
    if (c.blocks != matched_blocks_ || c.size != size) continue;
    // Checked again as the Stat is about to be written (under the content lock, so that
    // nothing frees them before it is).
    if (!content_->Has(BlockIndex(c.offset), BlockIndex(c.offset + c.blocks))) continue;
    auto byte_offset = content_->ByteOffsetOf(BlockIndex(c.offset));
    if (!byte_offset.ok()) continue;
    return Found(std::make_pair(c, *byte_offset));
  }
  return Found();
}

Status DedupMatcher::AppendPrefix() {
  if (matched_blocks_ == 0) return Status::Ok();
  if (!source_) return Status::Internal("a matched prefix without a source");
  const ContentRange source = *source_;
  std::vector<Bytes> batch;
  uint64_t batch_bytes = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    std::vector<ByteView> views(batch.begin(), batch.end());
    auto appended = content_->Append(std::span<const ByteView>(views));
    if (!appended.ok()) return appended.status();
    batch.clear();
    batch_bytes = 0;
    return Status::Ok();
  };
  for (uint64_t k = 0; k < matched_blocks_; ++k) {
    core::GetOptions get;
    get.wait = false;  // checked local when matched; a block gone since is an error, not a fetch
    ASSIGN_OR_RETURN(Bytes block, content_->Get(BlockIndex(source.offset + k), get));
    batch_bytes += block.size();
    batch.push_back(std::move(block));
    if (batch_bytes >= kCopyBatchBytes) RETURN_IF_ERROR(flush());
  }
  RETURN_IF_ERROR(flush());
  matched_blocks_ = 0;
  matched_bytes_ = 0;
  return Status::Ok();
}

}  // namespace hyper::drive::internal
