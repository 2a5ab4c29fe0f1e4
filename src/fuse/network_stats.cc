#include "network_stats.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hyper/util/bytes.h"

namespace hyper::fuse {

namespace {

using OrderedJson = nlohmann::ordered_json;

OrderedJson CoreJson(const service::CoreCounters& c, const std::vector<service::PeerInfo>& peers) {
  const crypto::Hash dk = crypto::DiscoveryKey(c.key);
  OrderedJson out = OrderedJson::object();
  out["key"] = ToHex(c.key);
  out["discoveryKey"] = ToHex(dk);
  out["peerCount"] = c.peers;
  OrderedJson list = OrderedJson::array();
  for (const auto& p : peers) {
    if (std::find(p.discovery_keys.begin(), p.discovery_keys.end(), dk) == p.discovery_keys.end()) {
      continue;
    }
    list.push_back(OrderedJson{{"remoteAddress", p.address}});
  }
  out["peers"] = std::move(list);
  out["uploadedBytes"] = c.uploaded_bytes;
  out["downloadedBytes"] = c.downloaded_bytes;
  out["downloadedBlocks"] = c.downloaded_blocks;
  out["totalBlocks"] = c.total_blocks;
  return out;
}

}  // namespace

std::string NetworkingJson(const std::vector<service::MountCounters>& mounts,
                           const std::vector<service::PeerInfo>& peers) {
  OrderedJson out = OrderedJson::array();
  for (const auto& m : mounts) {
    OrderedJson entry = OrderedJson::object();
    entry["path"] = m.path;
    entry["metadata"] = CoreJson(m.metadata, peers);
    entry["content"] = m.content ? CoreJson(*m.content, peers) : OrderedJson::object();
    out.push_back(std::move(entry));
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::string> StorageJson(const drive::Drive& d) {
  drive::ReaddirOptions o;
  o.recursive = true;
  o.no_mounts = true;
  ASSIGN_OR_RETURN(auto entries, d.Readdir("/", o));
  OrderedJson out = OrderedJson::object();
  const auto& content = d.content_feed();
  for (const auto& e : entries) {
    if (!e.stat.IsFile()) continue;
    uint64_t held = 0;
    if (content && e.stat.blocks > 0) {
      held =
          content->Downloaded(BlockIndex(e.stat.offset), BlockIndex(e.stat.offset + e.stat.blocks));
    }
    out[e.path] =
        OrderedJson{{"blocks", e.stat.blocks}, {"size", e.stat.size}, {"downloadedBlocks", held}};
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hyper::fuse
