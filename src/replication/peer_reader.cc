#include "hyper/replication/peer_reader.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <tuple>

#include "hyper/util/bytes.h"

namespace hyper::replication {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string SecondsText(Millis m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(m.count()) / 1000);
  return buf;
}

// "cannot reach peer HOST:PORT: <why>", without the transport's own "connecting to ..." prefix.
Status Unreachable(const std::string& peer, const Status& s) {
  std::string why = s.message();
  if (why.starts_with("connecting to ")) {
    size_t colon = why.find(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
  }
  return Status(s.code(), "cannot reach peer " + peer + ": " + why);
}

// Why the connection to `peer` is gone: the replication error that ended it (a handshake that
// did not finish, bad data, silence), or the peer hanging up.
Status Disconnected(protocol::Replicator& rep, const std::string& peer) {
  Status why = rep.WaitUntilIdle(Millis(1));
  if (why.ok()) return Status::IOError("peer " + peer + " closed the connection");
  return Status::IOError("connection to peer " + peer + " failed: " + why.ToString());
}

protocol::ReplicationOptions ReaderReplicationOptions(Millis timeout) {
  protocol::ReplicationOptions o;
  o.handshake_timeout = std::max<Millis>(timeout, 1000ms);
  o.fetch_timeout = timeout;
  // Peers found by a swarm may be reached twice (two addresses, or both dialling).
  o.deduplicate = true;
  return o;
}

PeerReader::PeerReader(corestore::Corestore& store, const std::string& host, uint16_t port,
                       std::string name, Millis timeout)
    : store_(store), name_(std::move(name)), timeout_(timeout) {
  connect_ = [host, port, timeout,
              name = name_](protocol::Replicator& rep) -> Result<std::shared_ptr<void>> {
    Status s = rep.Connect(host, port, timeout);
    if (!s.ok()) return Unreachable(name, s);
    return std::shared_ptr<void>();
  };
}

Status PeerReader::Connect() {
  ASSIGN_OR_RETURN(rep_, protocol::Replicator::Create(ReaderReplicationOptions(timeout_)));
  ASSIGN_OR_RETURN(found_, connect_(*rep_));
  return Status::Ok();
}

Result<drive::Drive*> PeerReader::Prepare(const crypto::PublicKey& key, int depth) {
  std::string id = ToHex(key);
  if (auto it = drives_.find(id); it != drives_.end()) return it->second.get();
  if (depth > 16) return Status::Loop("mounts nest too deep");
  corestore::CoreOptions co;
  co.key = key;
  ASSIGN_OR_RETURN(auto meta, store_.Get(co));
  if (!meta->writable()) {
    RETURN_IF_ERROR(Track(meta, /*trie=*/true));
    // The header (block 0, which names the content feed) is needed next: ask for it now.
    RETURN_IF_ERROR(rep_->Download(meta.get(), BlockIndex(0), BlockIndex(1)));
    // Once the peer's length is known, its head seq is too: ask the peer (hypertrie's get
    // extension) for the nodes of the path about to be looked up, so that they come in one
    // round trip, overlapping the fetch of the head.
    auto ask = [&](uint64_t remote_length) {
      if (depth == 0 && lookup_hint_ && remote_length >= 2) {
        (void)rep_->AskTrieGet(meta.get(), remote_length - 1, *lookup_hint_);
      }
    };
    Status s = Update(*meta, ask);
    if (!s.ok()) {
      if (s.code() == Code::kTimeout) {
        return Status::Timeout("peer " + name_ + " did not send drive " + id + " within " +
                               SecondsText(timeout_) + " (it may not have it)");
      }
      return s.Annotate("drive " + id);
    }
  }
  drive::DriveOptions options;
  options.key = key;
  options.create_if_missing = true;
  ASSIGN_OR_RETURN(auto d, drive::Drive::Open(store_, options));
  if (d->content_feed() && !d->content_feed()->writable())
    RETURN_IF_ERROR(Track(d->content_feed()));
  drive::Drive* raw = d.get();
  drives_[id] = std::move(d);
  ASSIGN_OR_RETURN(auto mounts, raw->GetAllMounts());
  for (const auto& m : mounts) {
    if (m.path == "/") continue;
    RETURN_IF_ERROR(Prepare(m.metadata_key, depth + 1).status());
  }
  return raw;
}

void PeerReader::SetLookupHint(const std::string& path) {
  std::string key = path;
  while (!key.empty() && key.front() == '/') key.erase(key.begin());
  while (!key.empty() && key.back() == '/') key.pop_back();
  if (!key.empty()) lookup_hint_ = key;
}

drive::Drive* PeerReader::Prepared(const crypto::PublicKey& key) const {
  auto it = drives_.find(ToHex(key));
  return it == drives_.end() ? nullptr : it->second.get();
}

std::vector<drive::Drive*> PeerReader::AllPrepared() const {
  std::vector<drive::Drive*> out;
  for (const auto& [id, d] : drives_) out.push_back(d.get());
  return out;
}

Status PeerReader::Fetch(core::Feed& feed, uint64_t index) {
  auto deadline = Clock::now() + timeout_;
  while (true) {
    if (feed.Has(BlockIndex(index))) return Status::Ok();
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left <= 0ms) {
      return Status::Timeout("block " + std::to_string(index) + " of core " + ToHex(feed.key()) +
                             " did not come from " + name_ + " within " + SecondsText(timeout_));
    }
    core::GetOptions go;
    go.timeout = std::min<Millis>(left, 250ms);
    auto got = feed.Get(BlockIndex(index), go);
    if (got.ok()) return Status::Ok();
    if (got.status().code() != Code::kTimeout) return got.status();
    RETURN_IF_ERROR(CheckConnected());
  }
}

Status PeerReader::DownloadAll(std::vector<Range> ranges) {
  // Files written one after the other have adjacent blocks: merge them, so that the
  // replicator gets a few ranges instead of one per file.
  std::sort(ranges.begin(), ranges.end(), [](const Range& x, const Range& y) {
    return std::tie(x.feed, x.start) < std::tie(y.feed, y.start);
  });
  std::vector<Range> merged;
  for (const auto& r : ranges) {
    if (r.start >= r.end) continue;
    if (!merged.empty() && merged.back().feed == r.feed && r.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  ranges = std::move(merged);
  std::set<core::Feed*> feeds;
  for (const auto& r : ranges) feeds.insert(r.feed);
  for (const auto& r : ranges) {
    if (r.start < r.end)
      RETURN_IF_ERROR(rep_->Download(r.feed, BlockIndex(r.start), BlockIndex(r.end)));
  }
  auto deadline = Clock::now() + timeout_;
  uint64_t last_progress = 0;
  while (true) {
    const uint64_t seen = rep_->events();
    bool done = true;
    uint64_t progress = 0;
    for (const auto& r : ranges) {
      if (!r.feed->Has(BlockIndex(r.start), BlockIndex(r.end))) {
        done = false;
        break;
      }
    }
    for (core::Feed* f : feeds) progress += f->Downloaded() + f->length();
    if (done) return Status::Ok();
    if (progress != last_progress) {
      last_progress = progress;
      deadline = Clock::now() + timeout_;
    }
    if (Clock::now() >= deadline) {
      return Status::Timeout("no data from " + name_ + " for " + SecondsText(timeout_));
    }
    RETURN_IF_ERROR(CheckConnected());
    // Until the next block stored or connection change.
    (void)rep_->WaitForEvent(seen,
                             std::chrono::duration_cast<Millis>(deadline - Clock::now()) + 1ms);
  }
}

Status PeerReader::EnsureRange(core::Feed& feed, const drive::Stat& st, uint64_t start,
                               uint64_t end) {
  end = std::min(end, st.size);
  if (st.blocks == 0 || start >= end) return Status::Ok();
  ASSIGN_OR_RETURN(uint64_t first, Locate(feed, st, start));
  ASSIGN_OR_RETURN(uint64_t last, Locate(feed, st, end - 1));
  if (last < first) return Status::Corruption("the file's blocks are out of order");
  return DownloadAll({{&feed, first, last + 1}});
}

Status PeerReader::Track(const std::shared_ptr<core::Feed>& feed, bool trie) {
  std::string id = ToHex(feed->key());
  if (feeds_.count(id)) return Status::Ok();
  protocol::PeerOptions po;
  po.sparse = true;
  po.hypertrie_extension = trie;
  RETURN_IF_ERROR(rep_->AddFeed(feed.get(), po));
  feeds_[id] = feed;
  return Status::Ok();
}

Status PeerReader::Update(core::Feed& feed, const std::function<void(uint64_t)>& on_remote_length) {
  Status s = rep_->Update(&feed, timeout_, on_remote_length);
  if (!s.ok() && rep_->connections().empty()) return Disconnected(*rep_, name_);
  return s;
}

Status PeerReader::CheckConnected() {
  if (rep_->connections().empty()) return Disconnected(*rep_, name_);
  return Status::Ok();
}

Result<uint64_t> PeerReader::Locate(core::Feed& feed, const drive::Stat& st, uint64_t pos) {
  const uint64_t a = st.offset;
  const uint64_t last = st.offset + st.blocks - 1;
  const uint64_t target = st.byte_offset + pos;
  uint64_t sequential = a;
  for (int attempt = 0;; attempt++) {
    if (target < feed.byte_length()) {
      auto found = feed.Seek(ByteOffset(target));
      if (found.ok()) {
        uint64_t b = found->first.value;
        if (b < a || b > last) return Status::Corruption("the file's bytes lie outside its blocks");
        RETURN_IF_ERROR(Fetch(feed, b));
        return b;
      }
      if (found.status().code() != Code::kNotFound) return found.status();
    }
    uint64_t guess;
    if (attempt == 0) {
      guess = a + std::min(st.blocks - 1, pos / GuessBlockSize(st));
    } else if (attempt == 1 && feed.Has(BlockIndex(a))) {
      auto first = feed.Get(BlockIndex(a), {.wait = false});
      uint64_t s = first.ok() && !first->empty() ? first->size() : 1;
      guess = a + std::min(st.blocks - 1, pos / s);
    } else {
      while (sequential <= last && feed.Has(BlockIndex(sequential))) sequential++;
      if (sequential > last)
        return Status::Corruption("no block of the file holds byte " + std::to_string(pos));
      guess = sequential;
    }
    if (feed.Has(BlockIndex(guess))) {
      while (sequential <= last && feed.Has(BlockIndex(sequential))) sequential++;
      if (sequential > last)
        return Status::Corruption("no block of the file holds byte " + std::to_string(pos));
      guess = sequential;
    }
    RETURN_IF_ERROR(Fetch(feed, guess));
  }
}

uint64_t PeerReader::GuessBlockSize(const drive::Stat& st) {
  const uint64_t n = st.blocks;
  if (n <= 1) return std::max<uint64_t>(st.size, 1);
  for (uint64_t s : {uint64_t{524288}, uint64_t{65536}}) {
    if ((n - 1) * s < st.size && st.size <= n * s) return s;
  }
  for (uint64_t s = uint64_t{1} << 23; s >= 512; s >>= 1) {
    if ((n - 1) * s < st.size && st.size <= n * s) return s;
  }
  return std::max<uint64_t>((st.size + n - 1) / n, 1);
}

Result<std::pair<drive::Drive*, std::string>> ResolveHolder(PeerReader& reader, drive::Drive& top,
                                                            std::string path) {
  drive::Drive* d = &top;
  for (int hops = 0; hops < 40; hops++) {
    ASSIGN_OR_RETURN(drive::Stat lst, d->Lstat(path));
    if (lst.IsSymlink()) {
      std::string base = path.substr(0, path.rfind('/'));
      std::string target = lst.linkname.starts_with("/") ? lst.linkname : base + "/" + lst.linkname;
      ASSIGN_OR_RETURN(path, drive::NormalizePath(target));
      continue;
    }
    ASSIGN_OR_RETURN(auto mounts, d->GetAllMounts());
    const drive::MountEntry* best = nullptr;
    for (const auto& m : mounts) {
      if (m.path == "/") continue;
      bool inside = path == m.path || path.starts_with(m.path + "/");
      if (inside && (!best || m.path.size() > best->path.size())) best = &m;
    }
    if (!best) return std::make_pair(d, path);
    drive::Drive* inner = reader.Prepared(best->metadata_key);
    if (!inner) return Status::NotFound("the drive mounted at " + best->path + " is not prepared");
    path = path.size() == best->path.size() ? "/" : path.substr(best->path.size());
    d = inner;
  }
  return Status::Loop("too many symlinks and mounts");
}

Status FetchFileRange(PeerReader& reader, drive::Drive& d, const std::string& path, uint64_t start,
                      std::optional<uint64_t> end_or_all) {
  ASSIGN_OR_RETURN(drive::Stat st, d.GetStat(path));
  if (st.IsDirectory()) return Status::Ok();  // the reading command says what is wrong
  ASSIGN_OR_RETURN(auto holder, ResolveHolder(reader, d, path));
  auto content = holder.first->content_feed();
  if (!content) return Status::NotFound("the drive holding " + path + " has no content feed yet");
  uint64_t end = std::min(end_or_all.value_or(st.size), st.size);
  return reader.EnsureRange(*content, st, start, end);
}

Status FetchTree(PeerReader& reader, drive::Drive& top, const std::string& top_path) {
  std::vector<PeerReader::Range> ranges;
  for (drive::Drive* d : reader.AllPrepared()) {
    ranges.push_back({d->metadata_feed().get(), 0, d->metadata_feed()->length()});
  }
  RETURN_IF_ERROR(reader.DownloadAll(ranges));
  // Then the blocks of every file: those below the path in the drive itself, and everything in
  // the drives it mounts.
  ranges.clear();
  auto add_files = [&](drive::Drive& d, const std::string& path) -> Status {
    if (!d.content_feed()) return Status::Ok();
    ASSIGN_OR_RETURN(drive::Stat top, d.GetStat(path));
    std::vector<drive::Stat> stats;
    if (top.IsDirectory()) {
      drive::ReaddirOptions ro;
      ro.recursive = true;
      ro.no_mounts = true;
      ASSIGN_OR_RETURN(auto entries, d.Readdir(path, ro));
      for (auto& e : entries) stats.push_back(std::move(e.stat));
    } else {
      stats.push_back(top);
    }
    for (const auto& st : stats) {
      if (st.IsFile() && st.blocks > 0 && !st.mount) {
        ranges.push_back({d.content_feed().get(), st.offset, st.offset + st.blocks});
      }
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(add_files(top, top_path));
  for (drive::Drive* d : reader.AllPrepared()) {
    if (d->key() == top.key()) continue;
    RETURN_IF_ERROR(add_files(*d, "/"));
  }
  // A fresh content replica learns its length from its first block.
  std::set<core::Feed*> seen;
  for (const auto& r : ranges) {
    if (seen.insert(r.feed).second && r.end > r.feed->length()) {
      RETURN_IF_ERROR(reader.Fetch(*r.feed, r.start));
    }
  }
  return reader.DownloadAll(ranges);
}

Status FetchListing(PeerReader& reader, drive::Drive& top, const std::string& path) {
  std::vector<PeerReader::Range> ranges;
  for (drive::Drive* d : reader.AllPrepared()) {
    ranges.push_back({d->metadata_feed().get(), 0, d->metadata_feed()->length()});
  }
  RETURN_IF_ERROR(reader.DownloadAll(ranges));
  drive::ReaddirOptions ro;
  ro.recursive = true;
  auto st = top.GetStat(path);
  if (st.ok() && st->IsDirectory()) return top.Readdir(path, ro).status();
  return Status::Ok();
}

}  // namespace hyper::replication
