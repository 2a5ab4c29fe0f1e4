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
  auto& v = it->second;
  auto pos = std::find(v.begin(), v.end(), record);
  if (pos == v.end()) return false;
  *pos = std::move(v.back());
  v.pop_back();
  if (v.empty()) g.erase(it);
  return true;
}

bool PeerStore::Add(const std::string& key, const Bytes& record) {
  if (Erase(current_, key, record) || Erase(previous_, key, record)) --size_;
  if (size_ >= max_records_) return false;
  current_[key].push_back(record);
  ++size_;
  return true;
}

void PeerStore::Remove(const std::string& key, const Bytes& record) {
  if (Erase(current_, key, record)) --size_;
  if (Erase(previous_, key, record)) --size_;
}

std::vector<Bytes> PeerStore::Get(const std::string& key, size_t n, const Bytes& except) const {
  std::vector<const Bytes*> all;
  for (const Generation* g : {&current_, &previous_}) {
    auto it = g->find(key);
    if (it == g->end()) continue;
    for (const auto& r : it->second) {
      if (r != except) all.push_back(&r);
    }
  }
  if (all.size() > n) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(n);
  }
  std::vector<Bytes> out;
  out.reserve(all.size());
  for (const Bytes* r : all) out.push_back(*r);
  return out;
}

}  // namespace hyper::swarm
