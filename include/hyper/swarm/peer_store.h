// The announces a persistent DHT node keeps for others (record-cache in @hyperswarm/dht):
// records under a key, in two generations; every 8 minutes the older generation is dropped
// and the current one becomes the older, so an announce lives 8 to 16 minutes unless it is
// renewed (announcing again moves it into the current generation). At most `max_records`
// in all (65,536, as the reference): beyond that new records are refused until some expire.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/util/bytes.h"

namespace hyper::swarm {

class PeerStore {
 public:
  explicit PeerStore(runtime::Clock& clock, size_t max_records = 65536,
                     runtime::Duration generation = std::chrono::minutes(8));
  PeerStore(const PeerStore&) = delete;
  PeerStore& operator=(const PeerStore&) = delete;

  // False when the store is full (the record is not kept).
  bool Add(const std::string& key, const Bytes& record);
  void Remove(const std::string& key, const Bytes& record);
  // Up to `n` records of `key`, a random choice when there are more, never `except`.
  std::vector<Bytes> Get(const std::string& key, size_t n, const Bytes& except) const;
  size_t size() const { return size_; }

 private:
  using Generation = std::map<std::string, std::set<Bytes>>;
  static bool Erase(Generation& g, const std::string& key, const Bytes& record);
  void Rotate();

  runtime::Duration generation_;
  size_t max_records_;
  Generation current_;
  Generation previous_;
  size_t size_ = 0;
  runtime::Timer rotate_;
};

}  // namespace hyper::swarm
