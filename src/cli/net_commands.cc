#include "net_commands.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "daemon_seed.h"
#include "hyper/protocol/tcp.h"
#include "hyper/replication/drive_replication.h"
#include "hyper/replication/peer_reader.h"
#include "hyper/replication/store_feeds.h"
#include "hyper/swarm/bootstrap.h"
#include "hyper/swarm/swarm.h"
#include "number_options.h"
#include "session.h"
#include "stop_signal.h"

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

using replication::Disconnected;
using replication::PeerReader;
using replication::ReaderReplicationOptions;

std::string Seconds(Millis m) { return replication::SecondsText(m); }

Status Unreachable(const PeerAddress& peer, const Status& s) {
  return replication::Unreachable(peer.ToString(), s);
}

}  // namespace

Status FetchFromPeer(const std::string& storage, const std::string& url, const PeerFetch& f) {
  std::optional<PeerAddress> peer;
  if (!f.peer.empty()) {
    ASSIGN_OR_RETURN(peer, ParsePeerAddress(f.peer));
  }
  ASSIGN_OR_RETURN(HyperUrl parsed, ParseHyperUrl(url));
  // A bad bootstrap list is said before the store is touched.
  if (!peer) RETURN_IF_ERROR(SwarmOptionsFor(f.discovery, /*listen=*/false).status());
  // What arrives is stored (verified blocks appended, as sync does): beside readers, never
  // beside another writer such as a seed of this store.
  auto opened = Session::Open(ResolveStorageRoot(storage), Access::kWriteBesideReaders);
  if (!opened.ok() && opened.status().code() == Code::kBusy) {
    if (!peer) {
      return Status::Busy("cannot fetch drive " + ToHex(parsed.key) +
                          " from peers (this store does not hold it whole) while another process "
                          "writes to the store: " +
                          opened.status().message() + " (--offline reads what the store holds)");
    }
    return Status::Busy(
        "cannot use --peer here, as it stores what it fetches: " + opened.status().message() +
        " (without --peer the command reads what the store holds, beside it)");
  }
  ASSIGN_OR_RETURN(auto session, std::move(opened));
  {
    const Millis timeout = ToMillis(f.timeout);
    std::optional<PeerReader> found;
    if (peer) {
      found.emplace(session->store(), peer->host, peer->port, peer->ToString(), timeout);
    } else {
      found.emplace(session->store(), SwarmConnector(parsed.key, f.discovery, timeout),
                    "the peers of " + ToHex(parsed.key), timeout);
    }
    PeerReader& reader = *found;
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
        s = replication::FetchFileRange(reader, od.drive(), od.path, f.start.value_or(0), f.end);
        break;
      case PeerFetch::For::kLs:
        s = replication::FetchListing(reader, od.drive(), od.path);
        break;
      case PeerFetch::For::kExport:
        s = replication::FetchTree(reader, od.drive(), od.path);
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
    PeerReader tail_reader(store, peer.host, peer.port, peer.ToString(), ToMillis(timeout));
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
  PeerReader reader(store, peer.host, peer.port, peer.ToString(), ToMillis(timeout));
  RETURN_IF_ERROR(reader.Connect());
  RETURN_IF_ERROR(reader.Track(feed));
  RETURN_IF_ERROR(reader.DownloadAll({{feed.get(), 0, length}}));
  report.fetched = missing;
  return report;
}

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

namespace {

// Keeps a connection to one peer while a command follows it live: when the connection is gone,
// says so on stderr and dials again after 1 s, then 2, 4, ... up to 30 s between attempts
// (back to 1 s once a connection has stayed up that long).
class Redialer {
 public:
  static constexpr Millis kFirstDelay = 1000ms;
  static constexpr Millis kMaxDelay = 30000ms;

  Redialer(protocol::Replicator& rep, PeerAddress peer, Millis timeout)
      : rep_(rep), peer_(std::move(peer)), timeout_(timeout), up_since_(Clock::now()) {}

  // How long the command may wait for events before calling Check again.
  Millis WaitBound() const {
    if (!waiting_) return kMaxDelay;
    auto left = std::chrono::duration_cast<Millis>(next_ - Clock::now());
    return std::clamp<Millis>(left, 1ms, kMaxDelay);
  }

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

// A seed keeps the files of every core it serves open (five per core): it may use as many
// descriptors as the system lets the user have, not only the default soft limit (often 1,024).
void RaiseOpenFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &lim);
}

Status Seed(const std::string& storage, const NetArgs& a) {
  std::optional<PeerAddress> listen_flag;
  if (!a.listen.empty()) {
    ASSIGN_OR_RETURN(listen_flag, ParsePeerAddress(a.listen, true));
  }
  if (a.discovery.offline && !listen_flag) {
    return Status::InvalidArgument("--offline serves only on an address given with --listen");
  }
  std::optional<swarm::SwarmOptions> swarm_options;
  if (!a.discovery.offline) {
    ASSIGN_OR_RETURN(swarm_options, SwarmOptionsFor(a.discovery, /*listen=*/true));
    if (listen_flag) {
      swarm_options->host = listen_flag->host;
      swarm_options->port = listen_flag->port;
    }
  }
  if (a.all && !a.urls.empty()) {
    return Status::InvalidArgument("seed takes URLs or --all, not both");
  }
  if (!a.all && a.urls.empty()) return Status::InvalidArgument("seed needs URLs or --all");
  if (a.all && !a.peer.empty()) {
    return Status::InvalidArgument("--all serves what the store holds: it takes no --peer");
  }
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
                   Session::Open(ResolveStorageRoot(storage), Access::kWriteBesideReaders));
  if (!upstream) {
    for (const auto& key : keys) {
      ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(FormatUrl(key)));
      if (od.head->metadata_feed()->length() == 0) {
        return Status::NotFound("the store has no data of drive " + ToHex(key) +
                                " (an empty replica): nothing to seed");
      }
    }
  }
  RaiseOpenFileLimit();
  size_t cores = 0;
  std::vector<crypto::PublicKey> announced = keys;
  if (a.all) {
    ASSIGN_OR_RETURN(auto listed, session->store().List());
    cores = listed.size();
    ASSIGN_OR_RETURN(announced, session->ListDrives());
  }
  StopSignal stop;
  {
    protocol::PeerOptions po;
    po.live = true;
    // Alone: serve, and download nothing unless asked. With an upstream peer: download
    // everything it has, and pass it on.
    po.sparse = !upstream;
    // A peer learns only the drives it asks for: we name them first only to the upstream.
    po.open_on = upstream ? protocol::PeerOptions::OpenOn::kDialled
                          : protocol::PeerOptions::OpenOn::kRemoteAsks;
    std::optional<replication::StoreFeeds> served;
    protocol::ReplicationOptions ro = ReaderReplicationOptions(timeout);
    if (a.all) {
      replication::StoreFeedsOptions so;
      so.peer = po;
      served.emplace(session->store(), so);
      ro.feed_provider = served->provider();
    }
    ro.max_connections = a.max_connections;
    ro.max_connections_per_address = a.max_per_address;
    ro.accept_handshake_timeout = ToMillis(a.handshake_timeout);
    ro.log = [](const std::string& line) {
      std::fprintf(stderr, "hyperdrive: %s\n", line.c_str());
      std::fflush(stderr);
    };
    ro.deduplicate = true;
    // Peers as they come and go (once their handshake is done).
    ro.on_connection = [](const protocol::ConnectionEvent& e) {
      if (e.kind == protocol::ConnectionEvent::Kind::kOpened) {
        std::printf("peer %s connected\n", e.remote.c_str());
      } else if (e.status.code() != Code::kExists) {
        std::printf("peer %s left\n", e.remote.c_str());
      }
      std::fflush(stdout);
    };
    ASSIGN_OR_RETURN(auto rep, protocol::Replicator::Create(ro));
    stop.OnStop([r = rep.get()] { r->Wake(); });
    // Each drive's content feed and mounts are added as they become known (DriveReplication).
    std::vector<std::unique_ptr<replication::DriveReplication>> drives;
    for (const auto& key : keys) {
      ASSIGN_OR_RETURN(auto dr,
                       replication::DriveReplication::Start(session->store(), *rep, key, po));
      drives.push_back(std::move(dr));
    }
    PeerAddress listen;
    std::unique_ptr<swarm::Swarm> swarm;
    if (swarm_options) {
      // The DHT's UDP socket and the TCP listener on one port number, and every drive announced
      // under its discovery key.
      ASSIGN_OR_RETURN(swarm, swarm::Swarm::Open(*rep, *swarm_options));
      listen = PeerAddress{swarm->host(), swarm->port()};
      for (const auto& key : announced) {
        swarm->Join(DriveTopic(key), swarm::JoinOptions{.announce = true, .lookup = false});
      }
    } else {
      listen = *listen_flag;
      ASSIGN_OR_RETURN(listen.port, rep->Listen(listen.host, listen.port));
    }
    if (upstream) {
      Status s = rep->Connect(upstream->host, upstream->port, timeout);
      if (!s.ok()) {
        return Unreachable(*upstream, s);
      }
    }
    for (const auto& key : keys) std::printf("%s\n", FormatUrl(key).c_str());
    if (a.all) {
      std::printf("serving every drive of the store (%zu cores) to peers that ask by key\n", cores);
    }
    std::printf("listening on %s\n", listen.ToString().c_str());
    if (swarm && !swarm_options->bootstrap.empty()) {
      std::printf("announcing %zu drive%s on the DHT (%zu bootstrap node%s)\n", announced.size(),
                  announced.size() == 1 ? "" : "s", swarm_options->bootstrap.size(),
                  swarm_options->bootstrap.size() == 1 ? "" : "s");
      if (keys.size() == 1) {
        // What another machine runs: the key is enough (and the same DHT, when it is not the
        // default one).
        std::string with;
        if (a.discovery.bootstrap) {
          with = " --bootstrap " + *a.discovery.bootstrap;
        } else if (const char* env = std::getenv(swarm::kBootstrapEnvironment)) {
          with = std::string(" --bootstrap ") + env;
        }
        std::printf("fetch it elsewhere with: hyperdrive export %s FOLDER%s\n",
                    FormatUrl(keys.front()).c_str(), with.c_str());
      }
    } else if (swarm) {
      std::printf("no DHT bootstrap node: reachable at the address above only (--peer)\n");
    }
    std::fflush(stdout);
    std::optional<Redialer> redial;
    if (upstream) redial.emplace(*rep, *upstream, timeout);
    // Everything happens on the runtime's threads; this one only redials an upstream that went
    // away, woken by the replicator's events (a connection closing) and by the stop signal.
    uint64_t seen = rep->events();
    while (!stop.requested()) {
      if (redial) redial->Check(HasDialled(*rep));
      (void)rep->WaitForEvent(seen, redial ? redial->WaitBound() : Millis(3600 * 1000));
      seen = rep->events();
    }
    swarm.reset();  // unannounces
    drives.clear();
  }
  return session->Close();
}

Status Sync(const std::string& storage, const NetArgs& a) {
  std::optional<PeerAddress> peer;
  if (!a.peer.empty()) {
    ASSIGN_OR_RETURN(peer, ParsePeerAddress(a.peer));
  } else if (a.discovery.offline) {
    return Status::InvalidArgument("sync --offline has nobody to sync from: give --peer HOST:PORT");
  }
  ASSIGN_OR_RETURN(HyperUrl url, ParseHyperUrl(a.url));
  const std::string who = peer ? peer->ToString() : "the peers of " + ToHex(url.key);
  if (url.path != "/" || url.version) {
    return Status::InvalidArgument("sync takes a drive's URL without a path or version");
  }
  const Millis timeout = ToMillis(a.timeout);
  // It only appends what the peer sends: readers may use the store meanwhile.
  ASSIGN_OR_RETURN(auto session,
                   Session::Open(ResolveStorageRoot(storage), Access::kWriteBesideReaders));
  StopSignal stop;
  {
    ASSIGN_OR_RETURN(auto rep, protocol::Replicator::Create(ReaderReplicationOptions(timeout)));
    stop.OnStop([r = rep.get()] { r->Wake(); });
    protocol::PeerOptions po;
    po.live = true;  // keeps the connection while feeds are added; ended by us
    // The content feed and the mounts are added as their headers arrive.
    ASSIGN_OR_RETURN(auto feeds,
                     replication::DriveReplication::Start(session->store(), *rep, url.key, po));
    std::shared_ptr<void> found;  // the swarm finding peers: destroyed before the replicator
    if (peer) {
      Status connected = rep->Connect(peer->host, peer->port, timeout);
      if (!connected.ok()) {
        return Unreachable(*peer, connected);
      }
    } else {
      ASSIGN_OR_RETURN(found, SwarmConnector(url.key, a.discovery, timeout)(*rep));
    }
    // Everything: wait until each feed has what the peer has, adding the content feed and the
    // mounts as their headers arrive.
    auto deadline = Clock::now() + timeout;
    uint64_t progress = 0;
    uint64_t seen = rep->events();
    while (true) {
      // Synced when every feed has what the peer has, and a look at the complete metadata (the
      // last one may have come before its last blocks) finds no feed to add (feeds are only
      // ever added: the same count means the same feeds, whoever looked).
      const std::vector<core::Feed*> checked = feeds->feeds();
      bool synced = true;
      for (core::Feed* f : checked) {
        if (!synced) break;
        synced = rep->WaitSynced(f, 0ms).ok();
      }
      if (synced) {
        RETURN_IF_ERROR(feeds->Refresh().status());
        synced = feeds->feeds().size() == checked.size();
      }
      drive::Drive* d = feeds->drive(url.key);
      if (synced && d && d->content_feed()) break;
      uint64_t now = feeds->downloaded() + feeds->length();
      if (now != progress) {
        progress = now;
        deadline = Clock::now() + timeout;
      }
      if (Clock::now() >= deadline) {
        if (feeds->length() == 0) {
          return Status::Timeout(std::string(peer ? "peer " : "") + who + " did not send drive " +
                                 ToHex(url.key) + " within " + Seconds(timeout) +
                                 " (it may not have it)");
        }
        return Status::Timeout("no data from " + who + " for " + Seconds(timeout));
      }
      // One peer gone ends the sync; the swarm's peers may come back (it dials them again).
      if (peer && rep->connections().empty()) {
        return Disconnected(*rep, who);
      }
      if (stop.requested()) return Status::Cancelled("interrupted");
      // Until the next block, connection change or signal.
      (void)rep->WaitForEvent(seen,
                              std::chrono::duration_cast<Millis>(deadline - Clock::now()) + 1ms);
      seen = rep->events();
    }
    drive::Drive* d = feeds->drive(url.key);
    uint64_t version = d->metadata_feed()->length();
    std::printf("%s\nversion %llu\n", FormatUrl(url.key).c_str(),
                static_cast<unsigned long long>(version));
    std::fflush(stdout);
    if (a.live) {
      std::optional<Redialer> redial;
      if (peer) redial.emplace(*rep, *peer, timeout);
      while (!stop.requested()) {
        if (redial) redial->Check(!rep->connections().empty());
        uint64_t now = d->metadata_feed()->length();
        // A version is printed once it is all local: its metadata, and the content of the files
        // it changed.
        if (now > version && d->metadata_feed()->Has(BlockIndex(0), BlockIndex(now)) &&
            ContentLocal(*d, version)) {
          version = now;
          std::printf("version %llu\n", static_cast<unsigned long long>(version));
          std::fflush(stdout);
        }
        (void)rep->WaitForEvent(seen, redial ? redial->WaitBound() : Millis(3600 * 1000));
        seen = rep->events();
      }
    }
    found.reset();
    feeds.reset();
  }
  return session->Close();
}

}  // namespace

void AddNetCommands(CLI::App& app, const std::string& storage, NetArgs& a, Action* action) {
  auto set = [action](const Action& act) { return [action, act] { *action = act; }; };

  auto seed = app.add_subcommand(
      "seed",
      "Serve drives (their metadata, content and mounts) to peers until killed, announcing each "
      "on the DHT under its discovery key so that anyone with the key finds it: seed URL... "
      "serves them all from one process, seed --all every drive of the store. Prints the URLs, "
      "the address, and peers as they come and go. A peer is told only about the drives it asks "
      "for by key. Reading commands (ls, cat, export, ...) may use the store meanwhile; writers "
      "(put, import, --peer, sync, another seed) are refused, naming the seed's pid. While a "
      "daemon runs on the root (`hyperdrive start`), seed URL... has the daemon seed them "
      "(announce and look up, again after its restarts: --lookup/--announce/--remember) and "
      "returns at once; `hyperdrive unseed URL` stops that");
  seed->add_option("urls", a.urls, "hyper://<key> of each drive to serve (one or more)");
  seed->add_flag("--all", a.all,
                 "Serve every drive (every core) the store holds, opening each only when a peer "
                 "asks for it by key (instead of URLs)");
  seed->add_option("--listen", a.listen,
                   "HOST:PORT of the TCP listener and of the DHT's UDP socket, one port number "
                   "for both (port 0: any free one; default 0.0.0.0 on port 49737, else the next "
                   "two, else any)")
      ->check(PeerAddressValidator(true));
  AddDiscoveryOptions(seed, a.discovery);
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
  seed->add_option("--lookup", a.lookup,
                   "With a daemon running on the root: look the drives up on the DHT (true or "
                   "false; default true)");
  seed->add_option("--announce", a.announce,
                   "With a daemon running: announce the drives on the DHT (default true)");
  seed->add_option("--remember", a.remember,
                   "With a daemon running: seed them again whenever it starts (default true)");
  seed->callback(set([&storage, &a]() -> Status {
    if (ScopedDaemonHost::Current() == nullptr) return Seed(storage, a);
    // A daemon runs on the root: it seeds (this runs in it), and the command returns.
    if (a.all || !a.listen.empty() || !a.peer.empty()) {
      return Status::InvalidArgument(
          "a daemon runs on the store: seed URL... has it seed the drives; --all, --listen and "
          "--peer are for a seed in the foreground (`hyperdrive stop` the daemon first)");
    }
    if (a.urls.empty()) return Status::InvalidArgument("seed needs URLs");
    return SeedInDaemon(DaemonSeedArgs{a.urls, a.lookup, a.announce, a.remember});
  }));

  auto unseed = app.add_subcommand(
      "unseed",
      "Stop seeding drives that the daemon running on the root seeds (`seed` with a daemon), "
      "now and at its later starts; their data stays in the store");
  unseed->add_option("urls", a.urls, "hyper://<key> of each drive")->required();
  unseed->callback(set([&storage, &a] { return Unseed(ResolveStorageRoot(storage), a.urls); }));

  auto sync = app.add_subcommand(
      "sync",
      "Download a whole drive (metadata, content, mounts) from its peers (found on the DHT by "
      "its key, or --peer); --live follows it. Reading commands may use the store meanwhile; "
      "nothing is stored if nothing verified arrives");
  sync->add_option("url", a.url, "hyper://<key>")->required();
  sync->add_option("--peer", a.peer,
                   "HOST:PORT of a peer that has the drive (default: look the key up on the DHT)")
      ->check(PeerAddressValidator());
  AddDiscoveryOptions(sync, a.discovery);
  sync->add_flag("--live", a.live,
                 "Keep following; print each new version until killed (when the peer goes away, "
                 "reconnect after 1, 2, 4 ... 30 s)");
  AddSecondsOption(sync, "--timeout", a.timeout,
                   "Seconds without progress before giving up (default 10)");
  sync->callback(set([&storage, &a] { return Sync(storage, a); }));
}

}  // namespace hyper::cli
