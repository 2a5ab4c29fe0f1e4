#include "hyper/swarm/peer_store.h"

#include <algorithm>
#include <random>

namespace hyper::swarm {

PeerStore::PeerStore(runtime::Clock& clock, size_t max_records, runtime::Duration generation)
    : generation_(generation), max_records_(max_records), rotate_(clock) {
  rotate_.Start(generation_, [this] { Rotate(); });
}

void PeerStore::Rotate() {
  for (const auto& [key, records] : previous_) size_ -= records.size();
  previous_ = std::move(current_);
  current_.clear();
  rotate_.Start(generation_, [this] { Rotate(); });
}

bool PeerStore::Erase(Generation& g, const std::string& key, const Bytes& record) {
  auto it = g.find(key);
  if (it == g.end()) return false;
  if (it->second.erase(record) == 0) return false;
  if (it->second.empty()) g.erase(it);
  return true;
}

bool PeerStore::Add(const std::string& key, const Bytes& record) {
  if (Erase(current_, key, record) || Erase(previous_, key, record)) --size_;
  if (size_ >= max_records_) return false;
  current_[key].insert(record);
  ++size_;
  return true;
}

void PeerStore::Remove(const std::string& key, const Bytes& record) {
  if (Erase(current_, key, record)) --size_;
  if (Erase(previous_, key, record)) --size_;
}

std::vector<Bytes> PeerStore::Get(const std::string& key, size_t n, const Bytes& except) const {
  // A uniform choice of n (reservoir sampling): memory O(n) however many records the key has.
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::vector<const Bytes*> all;
  size_t seen = 0;
  for (const Generation* g : {&current_, &previous_}) {
    auto it = g->find(key);
    if (it == g->end()) continue;
    for (const auto& r : it->second) {
      if (r == except) continue;
      ++seen;
      if (all.size() < n) {
        all.push_back(&r);
      } else if (n != 0) {
        const size_t j = std::uniform_int_distribution<size_t>(0, seen - 1)(rng);
        if (j < n) all[j] = &r;
      }
    }
  }
  std::vector<Bytes> out;
  out.reserve(all.size());
  for (const Bytes* r : all) out.push_back(*r);
  return out;
}

}  // namespace hyper::swarm
