// Deduplication of file content within a drive (docs/dedup.md): a file written with the same
// bytes, cut into the same blocks, as a file the drive already holds gets a Stat pointing at
// the existing content blocks instead of new ones. Private to src/drive.
//
// Thread safety: a DedupIndex and its matchers are used only with the content lock of their
// content feed held (the writer's, WriteFiles', ClearUntagged's lock): no content is appended
// or freed while a match is made and its Stat written.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "hyper/core/feed.h"
#include "hyper/crypto/crypto.h"
#include "hyper/trie/trie.h"
#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::drive::internal {

// Where a file's content lies in the content feed (a Stat's offset, blocks and size).
struct ContentRange {
  uint64_t offset = 0;
  uint64_t blocks = 0;
  uint64_t size = 0;
};

// The files of one content feed by size, and by the leaf hash of their first block once that
// was needed. An entry is a fact about the feed's blocks, which never change: it stays true
// when the file that named it is deleted, and an entry whose blocks were freed (gc) or are not
// held is passed over when matched. Built from the latest version of the drive's trie on first
// use (one walk of the trie, no content read), then told of each file written.
class DedupIndex {
 public:
  // Walks the latest version of `trie` the first time. REQUIRES: content lock held.
  Status EnsureBuilt(const trie::Trie& trie);
  bool built() const { return built_; }
  // A file written to the feed. Nothing when the index is not built (the walk will find it).
  void Add(const ContentRange& range, const std::optional<crypto::Hash>& first_leaf = {});
  // Whether a file of exactly `size` bytes (whole) or of at least `size` bytes is known.
  bool HasSize(uint64_t size, bool whole) const;
  // The known files of exactly `size` bytes (whole) or of at least `size` bytes whose first
  // block's leaf hash (read from the feed's tree, once per file) is `first_leaf`.
  std::vector<ContentRange> Candidates(const core::Feed& content, uint64_t size, bool whole,
                                       const crypto::Hash& first_leaf);
  size_t size() const { return known_.size(); }

 private:
  struct Bucket {
    std::vector<ContentRange> unresolved;  // first leaf not read yet
    std::multimap<crypto::Hash, ContentRange> by_first_leaf;
  };
  void AddUnchecked(const ContentRange& range, const std::optional<crypto::Hash>& first_leaf);
  std::map<uint64_t, Bucket> by_size_;
  std::set<std::pair<uint64_t, uint64_t>> known_;  // (offset, blocks) of every entry
  bool built_ = false;
};

// Matches the blocks of one file being written, from its first block on, against the files
// the index knows: while a known file starts with the same blocks (same leaf hashes, which
// cover each block's size and bytes), nothing needs to be appended. When the file ends with
// exactly a known file's blocks, its Stat points at them; when the match breaks, the blocks
// matched so far are appended (copied from the known file) and writing goes on as usual.
class DedupMatcher {
 public:
  // Building the index walks the whole trie (0.7 s for 100,000 files): in a drive of more than
  // kBuildIndexMaxVersions versions, a file smaller than kBuildIndexMinBytes written alone does
  // not pay for it (it uses the index once a batch or a bigger file built it).
  static constexpr uint64_t kBuildIndexMinBytes = 1 << 20;
  static constexpr uint64_t kBuildIndexMaxVersions = 10000;

  // REQUIRES: index, trie and content outlive the matcher; the content lock is held while it
  // is used. `always_build`: build the index whatever the file's size (a batch of files).
  DedupMatcher(DedupIndex* index, const trie::Trie* trie, core::Feed* content,
               bool always_build = false)
      : index_(index), trie_(trie), content_(content), always_build_(always_build) {}

  // The next blocks of the file (none were appended before them). True when they continue a
  // known file (then they need not be appended now); false when none does, and the caller
  // must append Prefix then these blocks, and offer no more. `last`: the file ends with them.
  Result<bool> Offer(std::span<const ByteView> blocks, bool last);
  // With every block offered and matched: a known file holding exactly the `size` bytes
  // offered, its blocks all local, and the byte offset of its first block; nullopt otherwise.
  Result<std::optional<std::pair<ContentRange, uint64_t>>> Finish(uint64_t size);
  // Appends the blocks matched so far to the content feed (read from the known file), in
  // batches of at most 4 MiB, for a file whose match broke.
  Status AppendPrefix();
  uint64_t matched_blocks() const { return matched_blocks_; }

 private:
  DedupIndex* index_;
  const trie::Trie* trie_;
  core::Feed* content_;
  bool always_build_;
  bool started_ = false;
  std::vector<ContentRange> survivors_;
  uint64_t matched_blocks_ = 0;
  uint64_t matched_bytes_ = 0;
  // The known file the matched blocks are copied from when the match breaks.
  std::optional<ContentRange> source_;
};

}  // namespace hyper::drive::internal
