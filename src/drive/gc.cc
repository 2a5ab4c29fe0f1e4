// hyper::drive::Drive::ClearUntagged and ClearContent — freeing content blocks on disk
// (docs/gc.md). The blocks kept are those a kept version reads: the latest, every tagged one,
// and those the retention policy names. Everything else is cleared with Feed::Clear (the
// bitfield forgets the block, its bytes become a hole in `data`); the metadata feed, and so
// every version's tree of Stats, is never touched.
#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "hyper/drive/drive.h"
#include "hyper/util/interval_set.h"

namespace hyper::drive {

namespace {

// The content blocks a Stat reads: none for a mount or a symlink (they name another drive or a
// path), [offset, offset + blocks) of this drive's content feed otherwise.
std::pair<uint64_t, uint64_t> ContentRangeOf(const Stat& st) {
  if (st.mount || st.IsSymlink() || st.blocks == 0) return {0, 0};
  const uint64_t end = st.offset + st.blocks;
  if (end < st.offset) return {st.offset, UINT64_MAX};  // a hostile Stat: keep all after it
  return {st.offset, end};
}

// The Stat of a visible node with a value (nullopt for hidden nodes, such as tags and mount
// records, and for deletions). Corruption when a visible node does not hold a Stat: then what
// the version reads is unknown, and nothing may be freed.
Result<std::optional<Stat>> StatOfNode(const trie::Node& node) {
  if (node.hidden() || !node.value()) return std::optional<Stat>();
  auto st = Stat::Decode(*node.value());
  if (!st.ok()) {
    return st.status().Annotate("the node of /" + node.key() + " (seq " +
                                std::to_string(node.seq()) + ") does not hold a Stat");
  }
  return std::optional<Stat>(std::move(*st));
}

// Adds the local blocks of [start, end) of `content` to `runs` (as runs of consecutive
// blocks) and counts them and their bytes in `report`.
Status AddLocalRuns(const core::Feed& content, uint64_t start, uint64_t end, IntervalSet& runs,
                    GcReport& report) {
  end = std::min(end, content.length());
  if (start >= end || content.Downloaded(BlockIndex(start), BlockIndex(end)) == 0) {
    return Status::Ok();
  }
  uint64_t run = UINT64_MAX;
  for (uint64_t b = start; b <= end; ++b) {
    const bool local = b < end && content.Has(BlockIndex(b));
    if (local && run == UINT64_MAX) run = b;
    if (!local && run != UINT64_MAX) {
      ASSIGN_OR_RETURN(uint64_t from, content.ByteOffsetOf(BlockIndex(run)));
      ASSIGN_OR_RETURN(uint64_t to, content.ByteOffsetOf(BlockIndex(b)));
      runs.Add(run, b);
      report.blocks += b - run;
      report.bytes += to - from;
      run = UINT64_MAX;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<uint64_t> Drive::FirstRetainedVersion(const GcOptions& options) const {
  const uint64_t latest = trie_->version();
  if (options.keep_versions == 0) {
    return Status::InvalidArgument("keep_versions must be at least 1 (the latest version)");
  }
  uint64_t first = latest > options.keep_versions ? latest - options.keep_versions + 1 : 1;
  if (!options.keep_since) return first;
  // A version's time: the newest Stat ctime written up to it (see docs/gc.md). Version v is
  // the state after the node of seq v - 1; the first version whose time is at or after the date
  // and the version current at the date (the one before it) are kept, with all that follow.
  uint64_t time = 0;
  uint64_t since = latest;
  for (uint64_t version = 2; version <= latest; ++version) {
    ASSIGN_OR_RETURN(trie::NodePtr node, trie_->GetBySeq(version - 1));
    if (node) {
      ASSIGN_OR_RETURN(auto st, StatOfNode(*node));
      if (st) time = std::max(time, st->ctime);
    }
    if (time >= *options.keep_since) {
      since = version - 1;
      break;
    }
  }
  return std::min(first, std::max<uint64_t>(since, 1));
}

Result<GcReport> Drive::ClearUntagged(const GcOptions& options) {
  if (trie_->is_checkout()) {
    return Status::InvalidArgument("garbage collection runs on a drive, not on a checkout");
  }
  if (options.keep_versions == 0) {
    return Status::InvalidArgument("keep_versions must be at least 1 (the latest version)");
  }
  GcReport report;
  report.latest = trie_->version();
  if (!content_) return report;  // a replica that knows no content feed holds no content
  // No content write runs meanwhile: a writer's blocks are read by no version until its Stat
  // is written, and must not be freed before.
  RETURN_IF_ERROR(content_lock_->Acquire());
  struct Release {
    internal::ContentLock* lock;
    ~Release() { lock->Release(); }
  } release{content_lock_.get()};

  // Trie writes that need no content (tags, deletes, renames) may still land meanwhile: the
  // blocks to free are computed again until the version they were computed for is the latest.
  constexpr int kAttempts = 4;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t latest = trie_->version();
    report = GcReport();
    report.latest = latest;
    ASSIGN_OR_RETURN(report.first_retained, FirstRetainedVersion(options));
    ASSIGN_OR_RETURN(auto tags, GetAllTags());
    std::set<uint64_t> walked;  // versions whose whole tree is read
    walked.insert(report.first_retained);
    for (const auto& [name, version] : tags) {
      if (version == 0 || version > latest) continue;  // names no version: reads nothing
      report.tags.emplace_back(name, version);
      if (version < report.first_retained) walked.insert(version);
    }

    IntervalSet kept;
    for (uint64_t version : walked) {
      std::unique_ptr<trie::Trie> view = trie_->Checkout(version);
      trie::IterateOptions io;
      ASSIGN_OR_RETURN(auto it, view->Iterate("", io));
      while (true) {
        auto next = it->Next();
        if (!next.ok()) {
          return next.status().Annotate("cannot tell what version " + std::to_string(version) +
                                        " reads");
        }
        if (!*next) break;
        ASSIGN_OR_RETURN(auto st, StatOfNode(**next));
        if (st) {
          auto [start, end] = ContentRangeOf(*st);
          kept.Add(start, end);
        }
      }
    }
    // Every content range of the drive's history: the kept versions after first_retained read
    // those written by their nodes (seq first_retained .. latest - 1); the rest are counted as
    // files when this frees their blocks.
    std::set<std::pair<uint64_t, uint64_t>> ranges;
    for (uint64_t seq = 1; seq < latest; ++seq) {
      auto node = trie_->GetBySeq(seq);
      if (!node.ok()) {
        return node.status().Annotate("cannot read the drive's history at seq " +
                                      std::to_string(seq));
      }
      if (!*node) continue;
      auto st = StatOfNode(**node);
      if (!st.ok() || !*st) {
        if (!st.ok() && seq >= report.first_retained) return st.status();
        continue;  // a node no kept version reads
      }
      auto range = ContentRangeOf(**st);
      if (range.first >= range.second) continue;
      if (seq >= report.first_retained) kept.Add(range.first, range.second);
      ranges.insert(range);
    }

    // The local blocks outside `kept`, as runs.
    IntervalSet freed;
    uint64_t gap_start = 0;
    for (const auto& [start, end] : kept.runs()) {
      RETURN_IF_ERROR(AddLocalRuns(*content_, gap_start, start, freed, report));
      gap_start = std::max(gap_start, end);
    }
    RETURN_IF_ERROR(AddLocalRuns(*content_, gap_start, content_->length(), freed, report));
    for (const auto& [start, end] : ranges) {
      if (freed.Overlaps(start, end)) report.files++;
    }

    if (trie_->version() != latest) continue;  // something was written meanwhile: again
    if (options.dry_run) return report;
    for (const auto& [start, end] : freed.runs()) {
      RETURN_IF_ERROR(content_->Clear(BlockIndex(start), BlockIndex(end))
                          .Annotate("freeing content blocks " + std::to_string(start) + ".." +
                                    std::to_string(end)));
    }
    return report;
  }
  return Status::Busy("the drive kept changing during garbage collection; try again");
}

Result<GcReport> Drive::ClearContent(std::string_view path) {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  GcReport report;
  report.latest = trie_->version();
  if (!content_) return report;  // nothing downloaded
  if (content_->writable()) {
    return Status::InvalidArgument(
        "this drive is written here, so its content may exist nowhere else: use gc to free "
        "what no kept version reads");
  }
  uint64_t start = 0;
  uint64_t end = content_->length();
  if (norm != "/") {
    const trie::Trie* holder = nullptr;
    ASSIGN_OR_RETURN(Stat st, ResolveStat(norm, &holder, nullptr));
    if (st.IsDirectory()) {
      return Status::IsADirectory(norm + " is a directory (clear the drive's URL to free all)");
    }
    if (holder != trie_.get()) {
      return Status::Unsupported(norm + " lies in a mounted drive: clear that drive's URL");
    }
    std::tie(start, end) = ContentRangeOf(st);
  }
  IntervalSet freed;
  RETURN_IF_ERROR(AddLocalRuns(*content_, start, end, freed, report));
  if (norm != "/" && report.blocks > 0) report.files = 1;
  if (norm == "/" && report.blocks > 0) {  // the latest version's files that lose blocks
    ASSIGN_OR_RETURN(auto it, trie_->Iterate("", trie::IterateOptions{}));
    while (true) {
      ASSIGN_OR_RETURN(trie::NodePtr node, it->Next());
      if (!node) break;
      auto st = StatOfNode(*node);
      if (!st.ok() || !*st) continue;  // what the node reads is not ours to count
      auto [from, to] = ContentRangeOf(**st);
      if (freed.Overlaps(from, to)) report.files++;
    }
  }
  for (const auto& [from, to] : freed.runs()) {
    RETURN_IF_ERROR(content_->Clear(BlockIndex(from), BlockIndex(to)));
  }
  return report;
}

}  // namespace hyper::drive
