// The announces a persistent DHT node keeps for others (record-cache in @hyperswarm/dht):
// records under a key, in two generations; every 8 minutes the older generation is dropped
// and the current one becomes the older, so an announce lives 8 to 16 minutes unless it is
// renewed (announcing again moves it into the current generation). At most `max_records`
// in all (65,536, as the reference) and at most `max_per_source` from one source address
// (1,024: one address cannot fill the store): beyond that new records are refused until some
// expire. Costs: an add or a removal O(1) on average (a record's position is indexed), a
// lookup O(n) in the records it answers, not in the records the key holds (a uniform sample).
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/util/bytes.h"

namespace hyper::swarm {

struct PeerStoreLimits {
  size_t max_records = 65536;
  size_t max_per_source = 1024;
};

class PeerStore {
 public:
  explicit PeerStore(runtime::Clock& clock, PeerStoreLimits limits = {},
                     runtime::Duration generation = std::chrono::minutes(8));
  PeerStore(const PeerStore&) = delete;
  PeerStore& operator=(const PeerStore&) = delete;

  // False when the store is full, or holds `max_per_source` records from `source` (the
  // sender's address, empty for none): the record is not kept. Adding a record the key holds
  // refreshes it (it moves to the current generation, counted once, under the new source).
  bool Add(const std::string& key, const Bytes& record, const std::string& source = {});
  void Remove(const std::string& key, const Bytes& record);
  // Up to `n` records of `key`, a uniform random choice when there are more, never `except`.
  std::vector<Bytes> Get(const std::string& key, size_t n, const Bytes& except) const;
  size_t size() const { return size_; }
  // Records held from `source`.
  size_t from_source(const std::string& source) const;

 private:
  struct Entry {
    Bytes record;
    std::string source;
  };
  // One key's records: a list to sample from and each record's position in it.
  struct RecordSet {
    std::vector<Entry> list;
    std::unordered_map<std::string, size_t> index;
  };
  using Generation = std::map<std::string, RecordSet>;
  // Removes `record` from `g`; true when it was there.
  bool Erase(Generation& g, const std::string& key, const Bytes& record);
  void Uncount(const std::string& source);
  void Rotate();

  runtime::Duration generation_;
  PeerStoreLimits limits_;
  Generation current_;
  Generation previous_;
  size_t size_ = 0;
  std::unordered_map<std::string, size_t> per_source_;
  runtime::Timer rotate_;
};

}  // namespace hyper::swarm
