// The Kademlia routing table (as `k-bucket` keeps it for dht-rpc): nodes in buckets by the
// length of the prefix their id shares with ours, at most K = 20 per bucket, each bucket in
// the order the nodes were last heard from. A full bucket takes no new node: Add returns the
// oldest nodes to ping instead (the node's upkeep pings them and replaces one that is gone).
// Memory is bounded: 256 buckets × 20 nodes.
#pragma once

#include <array>
#include <deque>
#include <optional>
#include <vector>

#include "hyper/swarm/compact_address.h"

namespace hyper::swarm {

inline constexpr size_t kBucketSize = 20;  // K
inline constexpr size_t kNodesToPing = 3;  // k-bucket's numberOfNodesToPing

struct RoutingEntry {
  NodeRecord node;
  std::optional<Bytes> roundtrip_token;  // the last one it gave us
  std::optional<Bytes> to;               // our address as it last saw it
  uint64_t last_seen = 0;                // the caller's tick or time when last heard from
};

// XOR distance comparisons: is a closer to target than b?
bool Closer(const NodeId& target, const NodeId& a, const NodeId& b);
// The number of leading bits a and b share (256 when equal).
size_t CommonPrefixBits(const NodeId& a, const NodeId& b);

class RoutingTable {
 public:
  explicit RoutingTable(const NodeId& local) : local_(local) {}

  enum class AddResult { kAdded, kUpdated, kFull, kSelf };
  // Adds or refreshes `entry` (refreshing moves it to the bucket's most recent end, keeping a
  // token it had when the new entry has none). kFull: the bucket is full and `entry` was not
  // added; `to_ping` (if given) receives the bucket's kNodesToPing oldest nodes.
  AddResult Add(RoutingEntry entry, std::vector<RoutingEntry>* to_ping = nullptr);
  bool Remove(const NodeId& id);
  const RoutingEntry* Get(const NodeId& id) const;
  // Up to n nodes, closest to target first.
  std::vector<RoutingEntry> Closest(const NodeId& target, size_t n) const;
  // Every node, least recently heard from first (at most `n`).
  std::vector<RoutingEntry> Oldest(size_t n) const;
  size_t size() const { return size_; }
  const NodeId& local() const { return local_; }

 private:
  size_t BucketOf(const NodeId& id) const;

  NodeId local_;
  // Bucket i holds the nodes sharing exactly i leading bits with local_ (front: oldest).
  std::array<std::deque<RoutingEntry>, 256> buckets_;
  size_t size_ = 0;
};

}  // namespace hyper::swarm
