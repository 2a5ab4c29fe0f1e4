#include "hyper/swarm/routing_table.h"

#include <algorithm>
#include <bit>

namespace hyper::swarm {

bool Closer(const NodeId& target, const NodeId& a, const NodeId& b) {
  for (size_t i = 0; i < target.size(); ++i) {
    const uint8_t da = a[i] ^ target[i];
    const uint8_t db = b[i] ^ target[i];
    if (da != db) return da < db;
  }
  return false;
}

size_t CommonPrefixBits(const NodeId& a, const NodeId& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    const uint8_t x = a[i] ^ b[i];
    if (x != 0) return i * 8 + static_cast<size_t>(std::countl_zero(x));
  }
  return 256;
}

size_t RoutingTable::BucketOf(const NodeId& id) const {
  return std::min<size_t>(CommonPrefixBits(local_, id), 255);
}

RoutingTable::AddResult RoutingTable::Add(RoutingEntry entry, std::vector<RoutingEntry>* to_ping) {
  if (entry.node.id == local_) return AddResult::kSelf;
  auto& bucket = buckets_[BucketOf(entry.node.id)];
  auto it = std::find_if(bucket.begin(), bucket.end(),
                         [&](const RoutingEntry& e) { return e.node.id == entry.node.id; });
  if (it != bucket.end()) {
    if (!entry.roundtrip_token) entry.roundtrip_token = std::move(it->roundtrip_token);
    if (!entry.to) entry.to = std::move(it->to);
    bucket.erase(it);
    bucket.push_back(std::move(entry));
    return AddResult::kUpdated;
  }
  if (bucket.size() >= kBucketSize) {
    if (to_ping) {
      to_ping->assign(bucket.begin(), bucket.begin() + static_cast<std::ptrdiff_t>(kNodesToPing));
    }
    return AddResult::kFull;
  }
  bucket.push_back(std::move(entry));
  ++size_;
  return AddResult::kAdded;
}

bool RoutingTable::Remove(const NodeId& id) {
  auto& bucket = buckets_[BucketOf(id)];
  auto it = std::find_if(bucket.begin(), bucket.end(),
                         [&](const RoutingEntry& e) { return e.node.id == id; });
  if (it == bucket.end()) return false;
  bucket.erase(it);
  --size_;
  return true;
}

const RoutingEntry* RoutingTable::Get(const NodeId& id) const {
  const auto& bucket = buckets_[BucketOf(id)];
  for (const auto& e : bucket) {
    if (e.node.id == id) return &e;
  }
  return nullptr;
}

std::vector<RoutingEntry> RoutingTable::Closest(const NodeId& target, size_t n) const {
  std::vector<const RoutingEntry*> all;
  all.reserve(size_);
  for (const auto& bucket : buckets_) {
    for (const auto& e : bucket) all.push_back(&e);
  }
  const size_t take = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(take), all.end(),
                    [&](const RoutingEntry* a, const RoutingEntry* b) {
                      return Closer(target, a->node.id, b->node.id);
                    });
  std::vector<RoutingEntry> out;
  out.reserve(take);
  for (size_t i = 0; i < take; ++i) out.push_back(*all[i]);
  return out;
}

std::vector<RoutingEntry> RoutingTable::Oldest(size_t n) const {
  std::vector<const RoutingEntry*> all;
  all.reserve(size_);
  for (const auto& bucket : buckets_) {
    for (const auto& e : bucket) all.push_back(&e);
  }
  const size_t take = std::min(n, all.size());
  std::partial_sort(
      all.begin(), all.begin() + static_cast<std::ptrdiff_t>(take), all.end(),
      [](const RoutingEntry* a, const RoutingEntry* b) { return a->last_seen < b->last_seen; });
  std::vector<RoutingEntry> out;
  out.reserve(take);
  for (size_t i = 0; i < take; ++i) out.push_back(*all[i]);
  return out;
}

}  // namespace hyper::swarm
