#include "live_transfer.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "command_stop.h"
#include "console.h"
#include "folder_watch.h"
#include "hyper/protocol/tcp.h"
#include "hyper/replication/drive_replication.h"
#include "hyper/replication/peer_reader.h"
#include "net_commands.h"
#include "session.h"

namespace hyper::cli {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A burst of changes is handled once it has been quiet this long, or after kMostDelay.
constexpr auto kQuiet = 150ms;
constexpr auto kMostDelay = 2000ms;

void Say(const std::string& line) { Err() << "hyperdrive: " << line << "\n" << std::flush; }

// Waits (on `fd`, with `stop`) until `fd` stayed quiet for kQuiet, at most kMostDelay;
// `consume` reads what each event left. False when a stop came meanwhile.
template <typename Consume>
Result<bool> WaitForQuiet(CommandStop& stop, int fd, Consume consume) {
  const auto until = Clock::now() + kMostDelay;
  while (!stop.requested()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left <= 0ms) return true;
    ASSIGN_OR_RETURN(auto ready,
                     stop.Wait({fd}, std::min<std::chrono::milliseconds>(kQuiet, left)));
    if (!ready[0]) return !stop.requested();
    RETURN_IF_ERROR(consume());
  }
  return false;
}

}  // namespace

Status WatchImport(const std::string& storage, const std::string& dir_arg, const std::string& url,
                   ImportOptions options) {
  if (options.dry_run) {
    return Status::InvalidArgument("--watch imports the folder as it changes: not with --dry-run");
  }
  const std::string dir = Console::Current().Path(dir_arg);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, dir_arg);
  if (!S_ISDIR(st.st_mode)) return Status::NotADirectory(dir_arg + " is not a folder");
  CommandStop stop;
  // Watched before the first import: what changes during it is imported after it.
  ASSIGN_OR_RETURN(auto watch, FolderWatch::Start(dir));
  options.stop = [&stop] { return stop.requested(); };
  auto stopped = [&](const Status& s) { return s.code() == Code::kCancelled && stop.requested(); };
  // A refusal (a name no drive can hold) was said; the rest was imported: watching goes on.
  ImportOutcome outcome;
  auto refusal = [&](const Status& s) {
    return outcome.refused && s.code() == Code::kInvalidArgument;
  };
  Status first = ImportFolder(storage, dir_arg, url, options, &outcome);
  Out() << std::flush;
  if (!first.ok() && !stopped(first) && !refusal(first)) return first;
  const std::string target = url.empty() ? outcome.url : url;
  options.print_url = false;
  if (!stop.requested()) {
    Say("watching " + dir_arg + " for changes (Ctrl-C stops)");
  }
  while (!stop.requested()) {
    ASSIGN_OR_RETURN(auto ready, stop.Wait({watch->fd()}, std::nullopt));
    if (!ready[0]) continue;
    ASSIGN_OR_RETURN(bool changed, watch->Drain());
    if (!changed) continue;
    // A burst of writes (an editor saving, a copy of many files) is one import.
    ASSIGN_OR_RETURN(bool quiet,
                     WaitForQuiet(stop, watch->fd(), [&watch] { return watch->Drain().status(); }));
    if (!quiet) break;
    Status s = ImportFolder(storage, dir_arg, target, options, &outcome);
    if (stopped(s)) break;
    if (!s.ok() && !refusal(s)) {
      // A file that changed while it was read, say: imported at its next change.
      Say(s.ToString() + " (tried again at the next change)");
    }
  }
  if (stopped(first)) {
    Say("stopped during the first import: " + target +
        " holds part of the folder (import it again to finish)");
    return Status::Ok();
  }
  Say("stopped watching " + dir_arg + ": " + target +
      " holds what the folder held at the last import");
  return Status::Ok();
}

namespace {

// The replica `key` followed from its peers in the foreground, as `sync --live` does, from
// version `version` on (already exported into `dir`).
Status FollowPeersLive(const std::string& storage, const HyperUrl& url, const std::string& shown,
                       const std::string& dir, uint64_t version, const FollowPeers& peers,
                       CommandStop& stop) {
  std::optional<PeerAddress> peer;
  if (!peers.peer.empty()) {
    ASSIGN_OR_RETURN(peer, ParsePeerAddress(peers.peer));
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(peers.timeout * 1000));
  // What arrives is stored, beside readers of the store (as sync).
  ASSIGN_OR_RETURN(auto session,
                   Session::Open(ResolveStorageRoot(storage), Access::kWriteBesideReaders));
  Status result = Status::Ok();
  {
    ASSIGN_OR_RETURN(auto rep,
                     protocol::Replicator::Create(replication::ReaderReplicationOptions(timeout)));
    protocol::PeerOptions po;
    po.live = true;
    ASSIGN_OR_RETURN(auto feeds,
                     replication::DriveReplication::Start(session->store(), *rep, url.key, po));
    std::shared_ptr<void> found;  // the swarm finding peers: goes before the replicator
    const std::string who = peer ? "peer " + peer->ToString() : "the peers of " + ToHex(url.key);
    if (peer) {
      Status connected = rep->Connect(peer->host, peer->port, timeout);
      if (!connected.ok()) return replication::Unreachable(peer->ToString(), connected);
    } else {
      ASSIGN_OR_RETURN(found, SwarmConnector(url.key, peers.discovery, timeout)(*rep));
    }
    // The replicator's events (a block, a connection change) as a descriptor to wait on.
    Wakeup arrived;
    std::atomic<bool> done{false};
    std::thread bridge([&] {
      uint64_t seen = rep->events();
      while (!done) {
        (void)rep->WaitForEvent(seen, std::chrono::hours(1));
        seen = rep->events();
        arrived.Notify();
      }
    });
    Say("following " + FormatUrl(url.key, url.path) + " from " + who + " into " + shown +
        " (Ctrl-C stops)");
    while (!stop.requested()) {
      drive::Drive* d = feeds->drive(url.key);
      const uint64_t now = d ? d->version() : 0;
      if (d && now > version && d->metadata_feed()->Has(BlockIndex(0), BlockIndex(now)) &&
          ContentLocal(*d, version)) {
        auto counts = ExportChanges(*d, url.path, version, dir);
        if (!counts.ok()) {
          result = counts.status();
          break;
        }
        version = now;
        Say("version " + std::to_string(now) + ": " + std::to_string(counts->written) +
            " written, " + std::to_string(counts->removed) + " removed" +
            (counts->skipped ? ", " + std::to_string(counts->skipped) + " skipped" : ""));
      }
      if (peer && rep->connections().empty()) {
        result = replication::Disconnected(*rep, who);
        break;
      }
      auto ready = stop.Wait({arrived.fd()}, std::nullopt);
      if (!ready.ok()) {
        result = ready.status();
        break;
      }
      // The blocks of a version come one by one: look once they pause.
      auto quiet = WaitForQuiet(stop, arrived.fd(), [&arrived] {
        arrived.Clear();
        return Status::Ok();
      });
      if (!quiet.ok()) result = quiet.status();
      if (!quiet.ok() || !*quiet) break;
    }
    done = true;
    rep->Wake();
    bridge.join();
    found.reset();
    feeds.reset();
  }
  RETURN_IF_ERROR(result);
  Say("stopped following " + FormatUrl(url.key, url.path) + ": " + shown + " holds version " +
      std::to_string(version));
  return session->Close();
}

}  // namespace

Status FollowExport(const std::string& storage, const std::string& url, const std::string& dir_arg,
                    const FollowPeers& peers) {
  ASSIGN_OR_RETURN(HyperUrl parsed, ParseHyperUrl(url));
  if (parsed.version) {
    return Status::InvalidArgument(
        "--follow follows the drive as it changes: the URL must not name a version or tag");
  }
  CommandStop stop;
  uint64_t version = 0;
  RETURN_IF_ERROR(ExportDrive(storage, url, dir_arg, &version));
  const std::string shown = dir_arg.empty() ? ToHex(parsed.key) : dir_arg;
  const std::string dir = Console::Current().Path(shown);
  ASSIGN_OR_RETURN(auto session, Session::Open(ResolveStorageRoot(storage), Access::kRead));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(url));
  if (ScopedDaemonHost::Current() == nullptr && !od.head->writable()) {
    // In the foreground nobody else writes this store's copy: new versions come from peers.
    if (!peers.peer.empty() || DiscoveryConfigured(peers.discovery)) {
      od = OpenedDrive();
      RETURN_IF_ERROR(session->Close());
      session.reset();
      return FollowPeersLive(storage, parsed, shown, dir, version, peers, stop);
    }
    Say("warning: with --offline and no --peer, no new version of this replica can arrive");
  } else if (service::Host* host = ScopedDaemonHost::Current();
             host != nullptr && !od.head->writable()) {
    auto config = host->NetworkConfigOf(parsed.key);
    if (!config || !config->lookup) {
      Say("warning: the daemon does not look this drive up on the network: new versions arrive "
          "from its peers once it does (`hyperdrive seed " +
          FormatUrl(parsed.key) + "`)");
    }
  } else if (ScopedDaemonHost::Current() == nullptr) {
    Say("warning: no daemon runs on the store, and other commands cannot write this drive while "
        "this export holds the store: start one (`hyperdrive start`) to follow their writes");
  }
  Wakeup changed;
  if (!changed.ok()) return Status::FromErrno(errno, "eventfd");
  ASSIGN_OR_RETURN(auto watcher, od.head->Watch(od.path, [&changed] { changed.Notify(); }));
  // In the daemon the drive is locked only while a change is written: its other clients (and
  // the peers' replication) use it meanwhile.
  const bool shared = od.lock.owns_lock();
  auto lock = [&] {
    if (shared) od.lock.lock();
  };
  auto unlock = [&] {
    if (shared) od.lock.unlock();
  };
  unlock();
  Say("following " + url + " into " + shown + " (Ctrl-C stops)");
  Status result = Status::Ok();
  bool look = true;  // what changed between the export and the watch, first
  while (!stop.requested()) {
    if (!look) {
      auto ready = stop.Wait({changed.fd()}, std::nullopt);
      if (!ready.ok()) {
        result = ready.status();
        break;
      }
      if (!(*ready)[0]) continue;
      // The blocks of one version (a peer's, a batch) come one by one: wait for the last.
      auto quiet = WaitForQuiet(stop, changed.fd(), [&changed] {
        changed.Clear();
        return Status::Ok();
      });
      if (!quiet.ok() || !*quiet) {
        result = quiet.status();
        break;
      }
    }
    look = false;
    changed.Clear();
    lock();
    const uint64_t now = od.head->version();
    Result<ExportChangeCounts> counts = ExportChangeCounts{};
    if (now != version) counts = ExportChanges(*od.head, od.path, version, dir);
    unlock();
    if (!counts.ok()) {
      result = counts.status();
      break;
    }
    if (now == version) continue;
    version = now;
    std::string line = "version " + std::to_string(now) + ": " + std::to_string(counts->written) +
                       " written, " + std::to_string(counts->removed) + " removed";
    if (counts->skipped > 0) line += ", " + std::to_string(counts->skipped) + " skipped";
    Say(line);
  }
  // The watcher goes under the drive's lock, before the drive.
  lock();
  watcher.reset();
  unlock();
  RETURN_IF_ERROR(result);
  Say("stopped following " + url + ": " + shown + " holds version " + std::to_string(version));
  return session->Close();
}

}  // namespace hyper::cli
