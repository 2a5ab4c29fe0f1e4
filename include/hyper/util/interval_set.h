// A set of uint64_t kept as disjoint half-open runs [start, end), merged as they are added:
// memory grows with the number of runs, never with the number of members (a remote may claim
// every block of a feed; a drive's kept blocks are a few long runs).
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>

namespace hyper {

class IntervalSet {
 public:
  static constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

  void Add(uint64_t start, uint64_t end) {
    if (start >= end) return;
    auto it = map_.upper_bound(start);
    if (it != map_.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= start) {
        start = prev->first;
        end = std::max(end, prev->second);
        it = map_.erase(prev);
      }
    }
    while (it != map_.end() && it->first <= end) {
      end = std::max(end, it->second);
      it = map_.erase(it);
    }
    map_[start] = end;
  }
  void Remove(uint64_t start, uint64_t end) {
    if (start >= end) return;
    auto it = map_.upper_bound(start);
    if (it != map_.begin()) --it;
    while (it != map_.end() && it->first < end) {
      const uint64_t s = it->first;
      const uint64_t e = it->second;
      if (e <= start) {
        ++it;
        continue;
      }
      it = map_.erase(it);
      if (s < start) map_[s] = start;
      if (e > end) {
        map_[end] = e;
        break;
      }
    }
  }
  bool Contains(uint64_t i) const {
    auto it = map_.upper_bound(i);
    if (it == map_.begin()) return false;
    return std::prev(it)->second > i;
  }
  // Whether any member lies in [start, end).
  bool Overlaps(uint64_t start, uint64_t end) const {
    if (start >= end) return false;
    auto it = map_.upper_bound(start);
    if (it != map_.begin() && std::prev(it)->second > start) return true;
    return it != map_.end() && it->first < end;
  }
  // The first member >= i, or kNone.
  uint64_t NextFrom(uint64_t i) const {
    auto it = map_.upper_bound(i);
    if (it != map_.begin()) {
      auto prev = std::prev(it);
      if (prev->second > i) return i;
    }
    return it == map_.end() ? kNone : it->first;
  }
  void Clear() { map_.clear(); }
  // The runs, start -> end, in order.
  const std::map<uint64_t, uint64_t>& runs() const { return map_; }

 private:
  std::map<uint64_t, uint64_t> map_;
};

}  // namespace hyper
