#include "net_commands.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "hyper/protocol/tcp.h"
#include "number_options.h"
#include "session.h"

namespace hyper::cli {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

std::string PeerAddress::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<PeerAddress> ParsePeerAddress(std::string_view text, bool allow_zero) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not HOST:PORT (" + why + ")");
  };
  PeerAddress out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("an IPv6 address is written [ADDRESS]:PORT");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return bad("write IPv6 addresses in brackets");
  }
  if (out.host.empty()) return bad("no host");
  for (char c : out.host) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return bad("unexpected character in the host");
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("the port must be a number");
  }
  unsigned long port = std::stoul(std::string(port_text));
  if (port > 65535 || (port == 0 && !allow_zero)) return bad("the port must be 1..65535");
  out.port = static_cast<uint16_t>(port);
  return out;
}

CLI::Validator PeerAddressValidator(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& value) -> std::string {
        auto parsed = ParsePeerAddress(value, allow_zero);
        return parsed.ok() ? std::string() : parsed.status().message();
      },
      "HOST:PORT");
}

namespace {

Millis ToMillis(double seconds) {
  if (!(seconds > 0)) return Millis(1);
  if (seconds > 86400) seconds = 86400;
  return Millis(static_cast<int64_t>(seconds * 1000));
}

std::string Seconds(Millis m) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(m.count()) / 1000);
  return buf;
}

// "cannot reach peer HOST:PORT: <why>", without the transport's own "connecting to ..." prefix.
Status Unreachable(const PeerAddress& peer, const Status& s) {
  std::string why = s.message();
  if (why.starts_with("connecting to ")) {
    size_t colon = why.find(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
  }
  return Status(s.code(), "cannot reach peer " + peer.ToString() + ": " + why);
}

// Why the connection to `peer` is gone: the replication error that ended it (a handshake that
// did not finish, bad data, silence), or the peer hanging up.
Status Disconnected(protocol::Replicator& rep, const PeerAddress& peer) {
  Status why = rep.WaitUntilIdle(Millis(1));
  if (why.ok()) return Status::IOError("peer " + peer.ToString() + " closed the connection");
  return Status::IOError("connection to peer " + peer.ToString() + " failed: " + why.ToString());
}

protocol::ReplicationOptions ReplicationOptionsFor(Millis timeout) {
  protocol::ReplicationOptions o;
  o.handshake_timeout = std::max<Millis>(timeout, 1000ms);
  o.fetch_timeout = timeout;
  return o;
}

// A connection to one peer, and the feeds of the drives being read over it. Every wait is
// bounded by `timeout` without progress, and fails early when the peer hangs up.
//
// Members are declared so that the replicator (which holds raw feed pointers) is destroyed
// before the feeds and drives, and those before the session's store.
class PeerReader {
 public:
  PeerReader(corestore::Corestore& store, PeerAddress peer, Millis timeout)
      : store_(store), peer_(std::move(peer)), timeout_(timeout) {}
  ~PeerReader() { rep_.reset(); }
  PeerReader(const PeerReader&) = delete;
  PeerReader& operator=(const PeerReader&) = delete;

  Status Connect() {
    ASSIGN_OR_RETURN(rep_, protocol::Replicator::Create(ReplicationOptionsFor(timeout_)));
    return Reach(rep_->Connect(peer_.host, peer_.port, timeout_));
  }

  // The drive `key` (created as an empty replica when the store does not hold it) with its
  // metadata at the peer's latest version, its content feed and its mounts (recursively),
  // all replicated sparsely over the connection.
  Result<drive::Drive*> Prepare(const crypto::PublicKey& key, int depth = 0) {
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
          return Status::Timeout("peer " + peer_.ToString() + " did not send drive " + id +
                                 " within " + Seconds(timeout_) + " (it may not have it)");
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

  // The path (of the latest version of the top drive) about to be looked up: Prepare asks the
  // peer for the trie nodes of its lookup as early as it can.
  void SetLookupHint(const std::string& path) {
    std::string key = path;
    while (!key.empty() && key.front() == '/') key.erase(key.begin());
    while (!key.empty() && key.back() == '/') key.pop_back();
    if (!key.empty()) lookup_hint_ = key;
  }

  drive::Drive* Prepared(const crypto::PublicKey& key) const {
    auto it = drives_.find(ToHex(key));
    return it == drives_.end() ? nullptr : it->second.get();
  }

  std::vector<drive::Drive*> AllPrepared() const {
    std::vector<drive::Drive*> out;
    for (const auto& [id, d] : drives_) out.push_back(d.get());
    return out;
  }

  // Block `index` of `feed`, fetched if missing.
  Status Fetch(core::Feed& feed, uint64_t index) {
    auto deadline = Clock::now() + timeout_;
    while (true) {
      if (feed.Has(BlockIndex(index))) return Status::Ok();
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      if (left <= 0ms) {
        return Status::Timeout("block " + std::to_string(index) + " of core " + ToHex(feed.key()) +
                               " did not come from " + peer_.ToString() + " within " +
                               Seconds(timeout_));
      }
      core::GetOptions go;
      go.timeout = std::min<Millis>(left, 250ms);
      auto got = feed.Get(BlockIndex(index), go);
      if (got.ok()) return Status::Ok();
      if (got.status().code() != Code::kTimeout) return got.status();
      RETURN_IF_ERROR(CheckConnected());
    }
  }

  // Downloads [start, end) of each range and waits until all of it is local.
  struct Range {
    core::Feed* feed;
    uint64_t start, end;
  };
  Status DownloadAll(std::vector<Range> ranges) {
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
        return Status::Timeout("no data from " + peer_.ToString() + " for " + Seconds(timeout_));
      }
      RETURN_IF_ERROR(CheckConnected());
      std::this_thread::sleep_for(2ms);
    }
  }

  // Makes local the content blocks holding bytes [start, end) of the file `st` in `feed`,
  // fetching only those. The block of a byte is found with the feed's Merkle tree (Seek), whose
  // nodes a sparse replica has only around the blocks it holds: so the block is guessed from the
  // file's block size (every block but the last has the same size when written by a stream),
  // fetched, and the seek checked; a wrong guess falls back to fetching the file's blocks in
  // order until the seek succeeds.
  Status EnsureRange(core::Feed& feed, const drive::Stat& st, uint64_t start, uint64_t end) {
    end = std::min(end, st.size);
    if (st.blocks == 0 || start >= end) return Status::Ok();
    ASSIGN_OR_RETURN(uint64_t first, Locate(feed, st, start));
    ASSIGN_OR_RETURN(uint64_t last, Locate(feed, st, end - 1));
    if (last < first) return Status::Corruption("the file's blocks are out of order");
    return DownloadAll({{&feed, first, last + 1}});
  }

  // Replicates `feed` (sparsely) over the connection. `trie`: the feed holds a drive's trie (its
  // metadata): speak hypertrie's get extension.
  Status Track(const std::shared_ptr<core::Feed>& feed, bool trie = false) {
    std::string id = ToHex(feed->key());
    if (feeds_.count(id)) return Status::Ok();
    protocol::PeerOptions po;
    po.sparse = true;
    po.hypertrie_extension = trie;
    RETURN_IF_ERROR(rep_->AddFeed(feed.get(), po));
    feeds_[id] = feed;
    return Status::Ok();
  }

  // Brings a replica's length up to the peer's (hypercore's update()): once the peer has said
  // what it has (it announces its head in answer to our first Want), the replicator fetches the
  // head block, whose proof carries the signed roots of the peer's whole feed.
  Status Update(core::Feed& feed, const std::function<void(uint64_t)>& on_remote_length = {}) {
    Status s = rep_->Update(&feed, timeout_, on_remote_length);
    if (!s.ok() && rep_->connections().empty()) return Disconnected(*rep_, peer_);
    return s;
  }

  const PeerAddress& peer() const { return peer_; }

 private:
  Status Reach(Status s) {
    if (s.ok()) return s;
    return Unreachable(peer_, s);
  }

  Status CheckConnected() {
    if (rep_->connections().empty()) return Disconnected(*rep_, peer_);
    return Status::Ok();
  }

  // The block holding byte `pos` of the file, made local.
  Result<uint64_t> Locate(core::Feed& feed, const drive::Stat& st, uint64_t pos) {
    const uint64_t a = st.offset;
    const uint64_t last = st.offset + st.blocks - 1;
    const uint64_t target = st.byte_offset + pos;
    uint64_t sequential = a;
    for (int attempt = 0;; attempt++) {
      if (target < feed.byte_length()) {
        auto found = feed.Seek(ByteOffset(target));
        if (found.ok()) {
          uint64_t b = found->first.value;
          if (b < a || b > last)
            return Status::Corruption("the file's bytes lie outside its blocks");
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

  // The size of every block but the last: the power of two that fits the Stat (the reference's
  // streams write 64 KiB or 512 KiB blocks), else the average.
  static uint64_t GuessBlockSize(const drive::Stat& st) {
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

  corestore::Corestore& store_;
  PeerAddress peer_;
  Millis timeout_;
  std::map<std::string, std::unique_ptr<drive::Drive>> drives_;
  std::map<std::string, std::shared_ptr<core::Feed>> feeds_;
  std::optional<std::string> lookup_hint_;
  std::unique_ptr<protocol::Replicator> rep_;
};

// The drive (a prepared one) and path inside it that hold `path` of `d`, following symlinks
// and mounts; the content feed read for it is that drive's.
Result<std::pair<drive::Drive*, std::string>> Holder(PeerReader& reader, drive::Drive& top,
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

Status FetchForCat(PeerReader& reader, OpenedDrive& od, const PeerFetch& f) {
  drive::Drive& d = od.drive();
  ASSIGN_OR_RETURN(drive::Stat st, d.GetStat(od.path));
  if (st.IsDirectory()) return Status::Ok();  // the local command says what is wrong
  ASSIGN_OR_RETURN(auto holder, Holder(reader, d, od.path));
  auto content = holder.first->content_feed();
  if (!content)
    return Status::NotFound("the drive holding " + od.path + " has no content feed yet");
  uint64_t start = f.start.value_or(0);
  uint64_t end = std::min(f.end.value_or(st.size), st.size);
  return reader.EnsureRange(*content, st, start, end);
}

Status FetchForExport(PeerReader& reader, OpenedDrive& od) {
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
  RETURN_IF_ERROR(add_files(od.drive(), od.path));
  for (drive::Drive* d : reader.AllPrepared()) {
    if (d->key() == od.drive().key()) continue;
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

Status FetchForLs(PeerReader& reader, OpenedDrive& od) {
  std::vector<PeerReader::Range> ranges;
  for (drive::Drive* d : reader.AllPrepared()) {
    ranges.push_back({d->metadata_feed().get(), 0, d->metadata_feed()->length()});
  }
  RETURN_IF_ERROR(reader.DownloadAll(ranges));
  drive::ReaddirOptions ro;
  ro.recursive = true;
  auto st = od.drive().GetStat(od.path);
  if (st.ok() && st->IsDirectory()) return od.drive().Readdir(od.path, ro).status();
  return Status::Ok();
}

}  // namespace

Status FetchFromPeer(const std::string& storage, const std::string& url, const PeerFetch& f) {
  ASSIGN_OR_RETURN(PeerAddress peer, ParsePeerAddress(f.peer));
  ASSIGN_OR_RETURN(HyperUrl parsed, ParseHyperUrl(url));
  // What arrives is stored (verified blocks appended, as sync does): beside readers, never
  // beside another writer such as a seed of this store.
  auto opened = Session::Open(ResolveStorageDir(storage), Access::kWriteBesideReaders);
  if (!opened.ok() && opened.status().code() == Code::kBusy) {
    return Status::Busy(
        "cannot use --peer here, as it stores what it fetches: " + opened.status().message() +
        " (without --peer the command reads what the store holds, beside it)");
  }
  ASSIGN_OR_RETURN(auto session, std::move(opened));
  {
    PeerReader reader(session->store(), peer, ToMillis(f.timeout));
    RETURN_IF_ERROR(reader.Connect());
    if (!parsed.version) reader.SetLookupHint(parsed.path);
    RETURN_IF_ERROR(reader.Prepare(parsed.key).status());
    ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(url));
    Status s;
    switch (f.what) {
      case PeerFetch::For::kStat: {
        auto st = od.drive().Lstat(od.path);
        s = st.ok() || st.status().code() == Code::kNotFound ? Status::Ok() : st.status();
        break;
      }
      case PeerFetch::For::kCat:
        s = FetchForCat(reader, od, f);
        break;
      case PeerFetch::For::kLs:
        s = FetchForLs(reader, od);
        break;
      case PeerFetch::For::kExport:
        s = FetchForExport(reader, od);
        break;
    }
    // NotFound of the path itself is for the local command to report.
    if (!s.ok() && s.code() != Code::kNotFound) return s;
  }
  return session->Close();
}

Result<PeerRepairReport> RepairFromPeer(const std::shared_ptr<core::Feed>& feed,
                                        corestore::Corestore& store, const std::string& peer_text,
                                        double timeout) {
  ASSIGN_OR_RETURN(PeerAddress peer, ParsePeerAddress(peer_text));
  PeerRepairReport report;
  report.claimed_length = feed->claimed_length();
  if (Status damage = feed->damage(); !damage.ok()) {
    // The peer's head block, with its proof, gives back the signed tree of the tail (Feed::Put
    // takes no less than the length that was signed and stored here). On a connection of its
    // own: the blocks are fetched afterwards over a fresh one, which starts from the feed as the
    // repair left it.
    report.proven_length = feed->length();
    PeerReader tail_reader(store, peer, ToMillis(timeout));
    RETURN_IF_ERROR(tail_reader.Connect());
    RETURN_IF_ERROR(tail_reader.Track(feed));
    Status s = tail_reader.Update(*feed);
    if (!feed->damage().ok()) {
      return Status::Corruption("peer " + peer.ToString() +
                                " did not send the signed history of core " + ToHex(feed->key()) +
                                " up to its " + std::to_string(report.claimed_length) +
                                " blocks (it may hold fewer)" +
                                (s.ok() ? "" : ": " + s.ToString()) + "; nothing was changed");
    }
    report.tail_restored = true;
  }
  ASSIGN_OR_RETURN(core::AuditReport audit, feed->Audit(/*repair=*/true));
  report.valid = audit.valid;
  report.invalid = audit.invalid;
  report.restored = audit.restored;
  const uint64_t length = feed->length();
  const uint64_t missing = length - feed->Downloaded();
  if (missing == 0) return report;
  PeerReader reader(store, peer, ToMillis(timeout));
  RETURN_IF_ERROR(reader.Connect());
  RETURN_IF_ERROR(reader.Track(feed));
  RETURN_IF_ERROR(reader.DownloadAll({{feed.get(), 0, length}}));
  report.fetched = missing;
  return report;
}

namespace {

// Blocks SIGINT and SIGTERM in this thread and the threads it starts afterwards, so that they
// are taken with sigtimedwait.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Waits up to `wait` for SIGINT/SIGTERM; true when one came.
bool StopRequested(const sigset_t& set, Millis wait) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(wait.count() / 1000);
  ts.tv_nsec = static_cast<long>((wait.count() % 1000) * 1000000);
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

// The feeds of a drive and of the drives it mounts, as far as the store holds them.
class DriveFeeds {
 public:
  DriveFeeds(Session& session, protocol::Replicator& rep, protocol::PeerOptions options)
      : session_(session), rep_(rep), options_(options) {}

  // Adds every feed not added yet (the drive's, its content's, its mounts'); returns whether
  // something was added.
  Result<bool> Scan(const crypto::PublicKey& key, int depth = 0) {
    if (depth > 16) return false;
    std::string id = ToHex(key);
    bool added = false;
    if (!metas_.count(id)) {
      corestore::CoreOptions co;
      co.key = key;
      ASSIGN_OR_RETURN(auto meta, session_.store().Get(co));
      protocol::PeerOptions meta_options = options_;
      meta_options.hypertrie_extension = true;  // answer peers' lookups in one round trip
      RETURN_IF_ERROR(rep_.AddFeed(meta.get(), meta_options));
      metas_[id] = meta;
      added = true;
    }
    if (metas_[id]->length() == 0) return added;  // nothing more until the header arrives
    auto& d = drives_[id];
    if (!d || !d->content_feed()) {
      drive::DriveOptions o;
      o.key = key;
      ASSIGN_OR_RETURN(d, drive::Drive::Open(session_.store(), o));
    }
    if (d->content_feed()) {
      std::string cid = ToHex(d->content_feed()->key());
      if (!contents_.count(cid)) {
        RETURN_IF_ERROR(rep_.AddFeed(d->content_feed().get(), options_));
        contents_[cid] = d->content_feed();
        added = true;
      }
    }
    auto mounts = d->GetAllMounts();
    if (!mounts.ok()) return added;  // metadata not all here yet: scanned again later
    for (const auto& m : *mounts) {
      if (m.path == "/") continue;
      ASSIGN_OR_RETURN(bool more, Scan(m.metadata_key, depth + 1));
      added = added || more;
    }
    return added;
  }

  std::vector<core::Feed*> feeds() const {
    std::vector<core::Feed*> out;
    for (const auto& [id, f] : metas_) out.push_back(f.get());
    for (const auto& [id, f] : contents_) out.push_back(f.get());
    return out;
  }
  drive::Drive* drive(const crypto::PublicKey& key) {
    auto it = drives_.find(ToHex(key));
    return it == drives_.end() ? nullptr : it->second.get();
  }
  uint64_t downloaded() const {
    uint64_t n = 0;
    for (core::Feed* f : feeds()) n += f->Downloaded();
    return n;
  }
  uint64_t length() const {
    uint64_t n = 0;
    for (core::Feed* f : feeds()) n += f->length();
    return n;
  }
  void Release() {
    for (core::Feed* f : feeds()) (void)rep_.RemoveFeed(f);
  }

 private:
  Session& session_;
  protocol::Replicator& rep_;
  protocol::PeerOptions options_;
  std::map<std::string, std::shared_ptr<core::Feed>> metas_;
  std::map<std::string, std::shared_ptr<core::Feed>> contents_;
  std::map<std::string, std::unique_ptr<drive::Drive>> drives_;
};

// Whether the content of every file that changed since `since` is local.
bool ContentLocal(const drive::Drive& d, uint64_t since) {
  const auto& content = d.content_feed();
  if (!content) return false;
  auto diff = d.Diff(since);
  if (!diff.ok()) return false;
  for (const auto& e : *diff) {
    if (!e.value || !e.value->IsFile() || e.value->mount || e.value->blocks == 0) continue;
    const drive::Stat& st = *e.value;
    if (!content->Has(BlockIndex(st.offset), BlockIndex(st.offset + st.blocks))) return false;
  }
  return true;
}

// Keeps a connection to one peer while a command follows it live: when the connection is gone,
// says so on stderr and dials again after 1 s, then 2, 4, ... up to 30 s between attempts
// (back to 1 s once a connection has stayed up that long).
class Redialer {
 public:
  static constexpr Millis kFirstDelay = 1000ms;
  static constexpr Millis kMaxDelay = 30000ms;

  Redialer(protocol::Replicator& rep, PeerAddress peer, Millis timeout)
      : rep_(rep), peer_(std::move(peer)), timeout_(timeout), up_since_(Clock::now()) {}

  // Called from the command's wait loop with whether the connection to the peer is up now.
  void Check(bool connected) {
    auto now = Clock::now();
    if (connected) {
      if (waiting_) {
        waiting_ = false;
        up_since_ = now;
        Say("reconnected to peer " + peer_.ToString());
      }
      if (now - up_since_ >= kMaxDelay) delay_ = kFirstDelay;
      return;
    }
    if (!waiting_) {
      waiting_ = true;
      next_ = now + delay_;
      Say("peer " + peer_.ToString() + " went away; reconnecting in " + Seconds(delay_));
      return;
    }
    if (now < next_) return;
    Status s = rep_.Connect(peer_.host, peer_.port, timeout_);
    // A connection that comes up but closes again at once (a failed handshake) counts as a
    // failed attempt: the delay keeps growing until one stays up.
    delay_ = std::min(delay_ * 2, kMaxDelay);
    if (!s.ok()) {
      next_ = Clock::now() + delay_;
      Say(Unreachable(peer_, s).message() + "; retrying in " + Seconds(delay_));
      return;
    }
    waiting_ = false;
    up_since_ = Clock::now();
    Say("reconnected to peer " + peer_.ToString());
  }

 private:
  static void Say(const std::string& line) {
    std::fprintf(stderr, "hyperdrive: %s\n", line.c_str());
    std::fflush(stderr);
  }

  protocol::Replicator& rep_;
  PeerAddress peer_;
  Millis timeout_;
  Millis delay_ = kFirstDelay;
  bool waiting_ = false;
  Clock::time_point next_;
  Clock::time_point up_since_;
};

// Whether the replicator has a connection it dialled (to the upstream peer).
bool HasDialled(protocol::Replicator& rep) {
  auto conns = rep.connections();
  return std::any_of(conns.begin(), conns.end(),
                     [](const protocol::ConnectionInfo& c) { return c.initiator; });
}

Status Seed(const std::string& storage, const NetArgs& a) {
  ASSIGN_OR_RETURN(PeerAddress listen, ParsePeerAddress(a.listen, true));
  std::vector<crypto::PublicKey> keys;
  for (const auto& text : a.urls) {
    ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(text));
    if (std::find(keys.begin(), keys.end(), url.key) == keys.end()) keys.push_back(url.key);
  }
  std::optional<PeerAddress> upstream;
  if (!a.peer.empty()) {
    ASSIGN_OR_RETURN(upstream, ParsePeerAddress(a.peer));
  }
  const Millis timeout = ToMillis(a.timeout);
  // Readers may use the store meanwhile; other writers (and another seed) may not.
  ASSIGN_OR_RETURN(auto session,
                   Session::Open(ResolveStorageDir(storage), Access::kWriteBesideReaders));
  if (!upstream) {
    for (const auto& key : keys) {
      ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(FormatUrl(key)));
      if (od.head->metadata_feed()->length() == 0) {
        return Status::NotFound("the store has no data of drive " + ToHex(key) +
                                " (an empty replica): nothing to seed");
      }
    }
  }
  sigset_t stop = BlockStopSignals();
  {
    protocol::ReplicationOptions ro = ReplicationOptionsFor(timeout);
    ro.max_connections = a.max_connections;
    ro.max_connections_per_address = a.max_per_address;
    ro.accept_handshake_timeout = ToMillis(a.handshake_timeout);
    ro.log = [](const std::string& line) {
      std::fprintf(stderr, "hyperdrive: %s\n", line.c_str());
      std::fflush(stderr);
    };
    ASSIGN_OR_RETURN(auto rep, protocol::Replicator::Create(ro));
    protocol::PeerOptions po;
    po.live = true;
    // Alone: serve, and download nothing unless asked. With an upstream peer: download
    // everything it has, and pass it on.
    po.sparse = !upstream;
    DriveFeeds feeds(*session, *rep, po);
    for (const auto& key : keys) RETURN_IF_ERROR(feeds.Scan(key).status());
    ASSIGN_OR_RETURN(uint16_t port, rep->Listen(listen.host, listen.port));
    listen.port = port;
    if (upstream) {
      Status s = rep->Connect(upstream->host, upstream->port, timeout);
      if (!s.ok()) {
        return Unreachable(*upstream, s);
      }
    }
    for (const auto& key : keys) std::printf("%s\n", FormatUrl(key).c_str());
    std::printf("listening on %s\n", listen.ToString().c_str());
    std::fflush(stdout);
    std::optional<Redialer> redial;
    if (upstream) redial.emplace(*rep, *upstream, timeout);
    uint64_t length = 0;
    while (!StopRequested(stop, 20ms)) {
      if (feeds.length() != length) {
        length = feeds.length();
        // The content feeds once the headers are here; new mounts.
        for (const auto& key : keys) (void)feeds.Scan(key);
      }
      if (redial) redial->Check(HasDialled(*rep));
    }
    feeds.Release();
  }
  return session->Close();
}

Status Sync(const std::string& storage, const NetArgs& a) {
  ASSIGN_OR_RETURN(PeerAddress peer, ParsePeerAddress(a.peer));
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(a.url));
  if (url.path != "/" || url.version) {
    return Status::InvalidArgument("sync takes a drive's URL without a path or version");
  }
  const Millis timeout = ToMillis(a.timeout);
  // It only appends what the peer sends: readers may use the store meanwhile.
  ASSIGN_OR_RETURN(auto session,
                   Session::Open(ResolveStorageDir(storage), Access::kWriteBesideReaders));
  sigset_t stop = BlockStopSignals();
  {
    ASSIGN_OR_RETURN(auto rep, protocol::Replicator::Create(ReplicationOptionsFor(timeout)));
    protocol::PeerOptions po;
    po.live = true;  // keeps the connection while feeds are added; ended by us
    DriveFeeds feeds(*session, *rep, po);
    RETURN_IF_ERROR(feeds.Scan(url.key).status());
    Status connected = rep->Connect(peer.host, peer.port, timeout);
    if (!connected.ok()) {
      return Unreachable(peer, connected);
    }
    // Everything: wait until each feed has what the peer has, adding the content feed and the
    // mounts as their headers arrive.
    auto deadline = Clock::now() + timeout;
    uint64_t progress = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool added, feeds.Scan(url.key));
      bool synced = !added;
      for (core::Feed* f : feeds.feeds()) {
        if (!synced) break;
        synced = rep->WaitSynced(f, 0ms).ok();
      }
      if (synced) {
        // Look again now that the metadata is complete: mounts written in blocks that arrived
        // after the scan above, and their content feeds.
        ASSIGN_OR_RETURN(bool more, feeds.Scan(url.key));
        synced = !more;
      }
      drive::Drive* d = feeds.drive(url.key);
      if (synced && d && d->content_feed()) break;
      uint64_t now = feeds.downloaded() + feeds.length();
      if (now != progress) {
        progress = now;
        deadline = Clock::now() + timeout;
      }
      if (Clock::now() >= deadline) {
        if (feeds.length() == 0) {
          return Status::Timeout("peer " + peer.ToString() + " did not send drive " +
                                 ToHex(url.key) + " within " + Seconds(timeout) +
                                 " (it may not have it)");
        }
        return Status::Timeout("no data from " + peer.ToString() + " for " + Seconds(timeout));
      }
      if (rep->connections().empty()) {
        return Disconnected(*rep, peer);
      }
      if (StopRequested(stop, 5ms)) return Status::Cancelled("interrupted");
    }
    drive::Drive* d = feeds.drive(url.key);
    uint64_t version = d->metadata_feed()->length();
    std::printf("%s\nversion %llu\n", FormatUrl(url.key).c_str(),
                static_cast<unsigned long long>(version));
    std::fflush(stdout);
    if (a.live) {
      Redialer redial(*rep, peer, timeout);
      while (!StopRequested(stop, 10ms)) {
        redial.Check(!rep->connections().empty());
        (void)feeds.Scan(url.key);
        uint64_t now = d->metadata_feed()->length();
        // A version is printed once it is all local: its metadata, and the content of the files
        // it changed.
        if (now > version && d->metadata_feed()->Has(BlockIndex(0), BlockIndex(now)) &&
            ContentLocal(*d, version)) {
          version = now;
          std::printf("version %llu\n", static_cast<unsigned long long>(version));
          std::fflush(stdout);
        }
      }
    }
    feeds.Release();
  }
  return session->Close();
}

}  // namespace

void AddNetCommands(CLI::App& app, const std::string& storage, NetArgs& a, Action* action) {
  auto set = [action](const Action& act) { return [action, act] { *action = act; }; };

  auto seed = app.add_subcommand(
      "seed",
      "Serve drives (their metadata, content and mounts) to peers over TCP until killed: "
      "seed URL... serves them all from one process. Reading commands (ls, cat, export, ...) "
      "may use the store meanwhile; writers (put, import, --peer, sync, another seed) are "
      "refused, naming the seed's pid");
  seed->add_option("urls", a.urls, "hyper://<key> of each drive to serve (one or more)")
      ->required();
  seed->add_option("--listen", a.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->required()
      ->check(PeerAddressValidator(true));
  seed->add_option("--peer", a.peer,
                   "HOST:PORT of an upstream peer: download the drive from it, following it live "
                   "(reconnecting when it goes away), and pass it on")
      ->check(PeerAddressValidator());
  AddSecondsOption(seed, "--timeout", a.timeout, "With --peer: seconds to reach it (default 10)");
  AddNumberOption(seed, "--max-connections", a.max_connections,
                  "Most connections open at once; more are refused (default 256)", 1, 65536);
  AddNumberOption(seed, "--max-per-address", a.max_per_address,
                  "Most connections from one IP address; more are refused (default 8)", 1, 65536);
  AddSecondsOption(seed, "--handshake-timeout", a.handshake_timeout,
                   "Seconds an accepted connection has to finish its handshake (default 3)");
  seed->callback(set([&storage, &a] { return Seed(storage, a); }));

  auto sync = app.add_subcommand(
      "sync",
      "Download a whole drive (metadata, content, mounts) from a peer; --live follows it. Reading "
      "commands may use the store meanwhile; nothing is stored if nothing verified arrives");
  sync->add_option("url", a.url, "hyper://<key>")->required();
  sync->add_option("--peer", a.peer, "HOST:PORT of a peer that has the drive")
      ->required()
      ->check(PeerAddressValidator());
  sync->add_flag("--live", a.live,
                 "Keep following; print each new version until killed (when the peer goes away, "
                 "reconnect after 1, 2, 4 ... 30 s)");
  AddSecondsOption(sync, "--timeout", a.timeout,
                   "Seconds without progress before giving up (default 10)");
  sync->callback(set([&storage, &a] { return Sync(storage, a); }));
}

}  // namespace hyper::cli
