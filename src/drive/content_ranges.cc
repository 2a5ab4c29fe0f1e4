// hyper::drive::Drive::ContentRanges — which content blocks a file or a folder reads, for
// downloads of a path (the daemon's Drive.download).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"

namespace hyper::drive {

namespace {

// [offset, offset + blocks) of a file's Stat; empty for mounts, symlinks and empty files. A
// hostile Stat whose end overflows is cut at the largest index.
bool RangeOf(const Stat& st, uint64_t& start, uint64_t& end) {
  if (st.mount || st.IsSymlink() || st.IsDirectory() || st.blocks == 0) return false;
  start = st.offset;
  end = st.offset + st.blocks;
  if (end < start) end = UINT64_MAX;
  return true;
}

}  // namespace

Result<std::vector<ContentRange>> Drive::ContentRanges(std::string_view path) const {
  ASSIGN_OR_RETURN(std::string norm, NormalizePath(path));
  const trie::Trie* holder = nullptr;
  std::string real;
  ASSIGN_OR_RETURN(Stat st, ResolveStat(norm, &holder, &real));
  // By feed (the key of the trie holding the files), the ranges found, merged at the end.
  std::map<const trie::Trie*, std::vector<std::pair<uint64_t, uint64_t>>> found;
  uint64_t start = 0;
  uint64_t end = 0;
  if (!st.IsDirectory()) {
    if (RangeOf(st, start, end)) found[holder].emplace_back(start, end);
  } else {
    trie::MountIterateOptions io;
    io.recursive = true;
    io.no_mounts = true;  // as hyperdrive's download: the folder's own drive only
    io.gt = false;
    RETURN_IF_ERROR(
        view_->ForEach(TrieKeyOf(real), io,
                       [&](const trie::NodePtr& node, std::string_view key, const trie::Trie* trie,
                           const trie::MountInfoPtr&) -> Status {
                         if (!node->value()) return Status::Ok();
                         auto file = Stat::Decode(*node->value());
                         if (!file.ok()) {
                           return file.status().Annotate("the node of /" + std::string(key) +
                                                         " does not hold a Stat");
                         }
                         if (RangeOf(*file, start, end)) found[trie].emplace_back(start, end);
                         return Status::Ok();
                       }));
  }
  std::vector<ContentRange> out;
  for (auto& [trie, ranges] : found) {
    ASSIGN_OR_RETURN(std::shared_ptr<core::Feed> feed, ContentOf(trie));
    std::sort(ranges.begin(), ranges.end());
    for (const auto& [a, b] : ranges) {
      if (!out.empty() && out.back().feed == feed && a <= out.back().end) {
        out.back().end = std::max(out.back().end, b);
      } else {
        out.push_back(ContentRange{feed, a, b});
      }
    }
  }
  return out;
}

}  // namespace hyper::drive
