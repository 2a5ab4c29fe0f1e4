#include "hyper/swarm/peer_store.h"

#include <random>
#include <set>
#include <utility>

namespace hyper::swarm {
namespace {

std::string KeyOf(const Bytes& record) { return std::string(record.begin(), record.end()); }

}  // namespace

PeerStore::PeerStore(runtime::Clock& clock, PeerStoreLimits limits, runtime::Duration generation)
    : generation_(generation), limits_(limits), rotate_(clock) {
  rotate_.Start(generation_, [this] { Rotate(); });
}

void PeerStore::Uncount(const std::string& source) {
  if (source.empty()) return;
  auto it = per_source_.find(source);
  if (it == per_source_.end()) return;
  if (--it->second == 0) per_source_.erase(it);
}

void PeerStore::Rotate() {
  for (const auto& [key, records] : previous_) {
    size_ -= records.list.size();
    for (const auto& e : records.list) Uncount(e.source);
  }
  previous_ = std::move(current_);
  current_.clear();
  rotate_.Start(generation_, [this] { Rotate(); });
}

bool PeerStore::Erase(Generation& g, const std::string& key, const Bytes& record) {
  auto it = g.find(key);
  if (it == g.end()) return false;
  RecordSet& set = it->second;
  auto pos = set.index.find(KeyOf(record));
  if (pos == set.index.end()) return false;
  const size_t i = pos->second;
  set.index.erase(pos);
  Uncount(set.list[i].source);
  if (i + 1 != set.list.size()) {
    set.list[i] = std::move(set.list.back());
    set.index[KeyOf(set.list[i].record)] = i;
  }
  set.list.pop_back();
  if (set.list.empty()) g.erase(it);
  --size_;
  return true;
}

bool PeerStore::Add(const std::string& key, const Bytes& record, const std::string& source) {
  if (!Erase(current_, key, record)) Erase(previous_, key, record);
  if (size_ >= limits_.max_records) return false;
  if (!source.empty() && from_source(source) >= limits_.max_per_source) return false;
  RecordSet& set = current_[key];
  set.index.emplace(KeyOf(record), set.list.size());
  set.list.push_back(Entry{record, source});
  if (!source.empty()) ++per_source_[source];
  ++size_;
  return true;
}

void PeerStore::Remove(const std::string& key, const Bytes& record) {
  Erase(current_, key, record);
  Erase(previous_, key, record);
}

size_t PeerStore::from_source(const std::string& source) const {
  auto it = per_source_.find(source);
  return it == per_source_.end() ? 0 : it->second;
}

std::vector<Bytes> PeerStore::Get(const std::string& key, size_t n, const Bytes& except) const {
  const std::vector<Entry>* lists[2] = {nullptr, nullptr};
  size_t total = 0;
  int count = 0;
  for (const Generation* g : {&current_, &previous_}) {
    auto it = g->find(key);
    if (it == g->end()) continue;
    lists[count++] = &it->second.list;
    total += it->second.list.size();
  }
  auto at = [&](size_t i) -> const Bytes& {
    return i < lists[0]->size() ? (*lists[0])[i].record : (*lists[1])[i - lists[0]->size()].record;
  };
  std::vector<Bytes> out;
  if (total == 0 || n == 0) return out;
  // n + 1 distinct positions chosen uniformly (Floyd's algorithm), one spare in case `except`
  // is among them: the cost follows the answer, not the records held.
  const size_t m = std::min(total, n + 1);
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::set<size_t> chosen;
  if (m == total) {
    for (size_t i = 0; i < total; ++i) chosen.insert(i);
  } else {
    for (size_t j = total - m; j < total; ++j) {
      const size_t t = std::uniform_int_distribution<size_t>(0, j)(rng);
      if (!chosen.insert(t).second) chosen.insert(j);
    }
  }
  out.reserve(m);
  for (size_t i : chosen) {
    const Bytes& r = at(i);
    if (r != except) out.push_back(r);
  }
  if (out.size() > n) {
    // The spare was not needed: drop one of the n + 1 at random.
    std::swap(out[std::uniform_int_distribution<size_t>(0, n)(rng)], out.back());
    out.pop_back();
  }
  return out;
}

}  // namespace hyper::swarm
