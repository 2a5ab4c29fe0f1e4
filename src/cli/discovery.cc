#include "discovery.h"

#include <cstdio>
#include <cstdlib>

#include "console.h"
#include "session.h"

namespace hyper::cli {

using Millis = std::chrono::milliseconds;

void AddDiscoveryOptions(CLI::App* cmd, DiscoveryArgs& d) {
  cmd->add_option("--bootstrap", d.bootstrap,
                  "DHT bootstrap nodes, HOST:PORT[,HOST:PORT...] (default: $HYPERDRIVE_BOOTSTRAP, "
                  "else the reference's public list; an empty value: no DHT)");
  cmd->add_flag("--offline", d.offline, "Never touch the network: read what the store holds");
  cmd->add_flag("--no-lan", d.no_lan,
                "No LAN discovery (multicast DNS); also HYPERDRIVE_LAN=0. It is off by default "
                "when every bootstrap node is on this machine");
}

bool LanWanted(const DiscoveryArgs& d, const swarm::BootstrapList& list) {
  if (d.offline || d.no_lan) return false;
  if (const char* env = std::getenv("HYPERDRIVE_LAN"); env != nullptr && *env != '\0') {
    const std::string v = env;
    if (v == "0" || v == "off" || v == "no") return false;
    if (v == "1" || v == "on" || v == "yes") return true;
  }
  return !list.loopback_only();
}

Result<swarm::SwarmOptions> SwarmOptionsFor(const DiscoveryArgs& d, bool listen) {
  auto list = swarm::ChooseBootstrap(d.bootstrap);
  if (!list.ok()) return list.status().Annotate("--bootstrap");
  for (const auto& name : list->unresolved) {
    ErrPrintf("hyperdrive: bootstrap node %s does not resolve (skipped)\n", name.c_str());
  }
  swarm::SwarmOptions o;
  o.listen = listen;
  o.bootstrap = list->nodes;
  o.lan = LanWanted(d, *list);
  o.log = [](const std::string& line) {
    ErrPrintf("hyperdrive: %s\n", line.c_str());
    Err().flush();
  };
  return o;
}

swarm::NodeId DriveTopic(const crypto::PublicKey& key) {
  const crypto::Hash dk = crypto::DiscoveryKey(key);
  swarm::NodeId t{};
  std::copy(dk.begin(), dk.end(), t.begin());
  return t;
}

replication::PeerReader::Connector SwarmConnector(const crypto::PublicKey& key,
                                                  const DiscoveryArgs& d, Millis timeout) {
  return [key, d, timeout](protocol::Replicator& rep) -> Result<std::shared_ptr<void>> {
    ASSIGN_OR_RETURN(swarm::SwarmOptions o, SwarmOptionsFor(d, /*listen=*/false));
    o.host = "0.0.0.0";
    o.port = 0;
    if (o.bootstrap.empty() && !o.lan) {
      return Status::NotFound("no peers found for " + ToHex(key) +
                              ": no DHT bootstrap node to ask and LAN discovery is off "
                              "(--bootstrap, or --peer HOST:PORT)");
    }
    ASSIGN_OR_RETURN(auto sw, swarm::Swarm::Open(rep, o));
    sw->Join(DriveTopic(key), swarm::JoinOptions{.announce = false, .lookup = true});
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    uint64_t seen = rep.events();
    while (rep.connections().empty()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        const swarm::SwarmStats st = sw->stats();
        std::string why;
        if (st.peers_found > 0) {
          why = " (" + std::to_string(st.peers_found) + " found, none reachable)";
        } else if (st.lookups_done == 0) {
          why = " (the DHT did not answer)";
        }
        return Status::NotFound("no peers found for " + ToHex(key) + " within " +
                                replication::SecondsText(timeout) + why);
      }
      // The swarm wakes the replicator as lookups end and dials settle.
      (void)rep.WaitForEvent(seen, std::chrono::duration_cast<Millis>(deadline - now) + Millis(1));
      seen = rep.events();
    }
    return std::shared_ptr<void>(std::move(sw));
  };
}

bool DiscoveryConfigured(const DiscoveryArgs& d) {
  if (d.offline) return false;
  auto list = swarm::ChooseBootstrap(d.bootstrap);
  return !list.ok() || !list->nodes.empty() || LanWanted(d, *list);
}

bool NeedsPeers(const std::string& storage_root, const std::string& url) {
  auto session = Session::Open(storage_root, Access::kRead);
  if (!session.ok()) return false;  // the local command says why
  auto od = (*session)->OpenUrl(url);
  if (!od.ok()) return od.status().code() == Code::kNotFound;
  drive::Drive& head = *od->head;
  if (head.writable()) return false;
  auto whole = [](const core::Feed& f) {
    return f.length() > 0 && f.Has(BlockIndex(0), BlockIndex(f.length()));
  };
  if (!whole(*head.metadata_feed())) return true;
  if (head.content_feed() && head.content_feed()->length() > 0 && !whole(*head.content_feed())) {
    return true;
  }
  auto mounts = head.GetAllMounts();
  if (!mounts.ok()) return true;
  for (const auto& m : *mounts) {
    if (m.path == "/") continue;
    corestore::CoreOptions co;
    co.key = m.metadata_key;
    auto meta = (*session)->store().Get(co);
    if (!meta.ok() || !whole(**meta)) return true;
    if (!m.content_key) return true;
    co.key = *m.content_key;
    auto content = (*session)->store().Get(co);
    if (!content.ok() || ((*content)->length() > 0 && !whole(**content))) return true;
  }
  return false;
}

}  // namespace hyper::cli
