#include "hyper/swarm/peers.h"

#include <algorithm>

#include "hyper/swarm/peers_message.h"

namespace hyper::swarm {
namespace {

constexpr size_t kMaxAnswered = 128;  // peers in one answer, local ones included
constexpr size_t kMaxLocalAnswered = 32;

Bytes Concat(const std::vector<Bytes>& records) {
  Bytes out;
  for (const auto& r : records) out.insert(out.end(), r.begin(), r.end());
  return out;
}

CommandReply AnswerPeers(PeerStore& store, const CommandRequest& req) {
  PeersInput in;
  if (req.value) {
    auto decoded = DecodePeersInput(*req.value);
    if (!decoded.ok()) return CommandReply{std::nullopt, std::nullopt, true};
    in = std::move(*decoded);
  }
  const uint32_t port = in.port && *in.port != 0 ? *in.port : req.from.port;
  if (port == 0 || port > 65535) return CommandReply{std::nullopt, "Invalid port", false};
  auto remote_record = EncodePeer({req.from.host, static_cast<uint16_t>(port)});
  if (!remote_record.ok()) return CommandReply{std::nullopt, "Invalid address", false};

  const std::string remote_key = ToHex(req.target);
  std::optional<std::string> local_key;
  Bytes local_suffix;
  if (in.local_address && in.local_address->size() == kPeerBytes) {
    local_key = remote_key + "@local." + ToHex(ByteView(*in.local_address).first(2));
    local_suffix.assign(in.local_address->begin() + 2, in.local_address->end());
  }

  if (req.type == MessageType::kQuery) {
    // As many records as the reply's budget allows (two fields' tags and lengths aside), up to
    // the reference's 128.
    const size_t fit = req.value_budget > 6 ? (req.value_budget - 6) / kPeerBytes : 0;
    const size_t total = std::min(kMaxAnswered, fit);
    std::vector<Bytes> local;
    if (local_key) {
      local = store.Get(*local_key, std::min(kMaxLocalAnswered, total), local_suffix);
    }
    std::vector<Bytes> remote = store.Get(remote_key, total - local.size(), *remote_record);
    PeersOutput out;
    if (!remote.empty()) out.peers = Concat(remote);
    if (!local.empty()) out.local_peers = Concat(local);
    return CommandReply{EncodePeersOutput(out), std::nullopt, false};
  }
  if (in.unannounce.value_or(false)) {
    store.Remove(remote_key, *remote_record);
    if (local_key) store.Remove(*local_key, local_suffix);
  } else {
    // Counted against the sender's address: one address cannot fill the store.
    store.Add(remote_key, *remote_record, req.from.host);
    if (local_key) store.Add(*local_key, local_suffix, req.from.host);
  }
  return CommandReply{};
}

std::optional<Bytes> InputOf(const PeersOptions& options, bool unannounce) {
  PeersInput in;
  if (options.port) in.port = *options.port;
  if (options.local_address) {
    auto b = EncodePeer(*options.local_address);
    if (b.ok()) in.local_address = std::move(*b);
  }
  if (unannounce) in.unannounce = true;
  return EncodePeersInput(in);
}

// The local peers of an answer: 4-byte records completed with the first two bytes of our own
// local address.
std::vector<UdpEndpoint> LocalPeers(const PeersOptions& options, ByteView records) {
  std::vector<UdpEndpoint> out;
  if (!options.local_address || records.size() % 4 != 0) return out;
  auto prefix = EncodePeer(*options.local_address);
  if (!prefix.ok()) return out;
  for (size_t i = 0; i < records.size(); i += 4) {
    Bytes six = {(*prefix)[0],   (*prefix)[1],   records[i],
                 records[i + 1], records[i + 2], records[i + 3]};
    auto p = DecodePeer(six);
    if (!p) return {};
    out.push_back(std::move(*p));
  }
  return out;
}

Query::OnReply MapReplies(const PeersOptions& options, OnPeers on_peers) {
  return [options, on_peers = std::move(on_peers)](const QueryReply& reply) {
    if (!on_peers || !reply.value) return;
    auto out = DecodePeersOutput(*reply.value);
    if (!out.ok() || (!out->peers && !out->local_peers)) return;
    PeersFound found;
    found.node = reply.from;
    if (out->peers) {
      auto peers = DecodePeers(*out->peers, PeersLimits::kMaxPeers);
      if (peers.ok()) found.peers = std::move(*peers);
    }
    if (out->local_peers) found.local_peers = LocalPeers(options, *out->local_peers);
    if (found.peers.empty() && found.local_peers.empty()) return;
    on_peers(found);
  };
}

}  // namespace

void ServePeers(DhtNode& node, PeerStore& store) {
  node.SetCommand(kPeersCommand,
                  [&store](const CommandRequest& req) { return AnswerPeers(store, req); });
}

std::shared_ptr<Query> Lookup(DhtNode& node, const NodeId& topic, const PeersOptions& options,
                              OnPeers on_peers, Query::OnDone on_done) {
  QueryOptions q;
  q.query = true;
  return node.RunQuery(kPeersCommand, topic, InputOf(options, false), q,
                       MapReplies(options, std::move(on_peers)), std::move(on_done));
}

std::shared_ptr<Query> Announce(DhtNode& node, const NodeId& topic, const PeersOptions& options,
                                OnPeers on_peers, Query::OnDone on_done) {
  QueryOptions q;
  q.query = true;
  q.update = true;
  return node.RunQuery(kPeersCommand, topic, InputOf(options, false), q,
                       MapReplies(options, std::move(on_peers)), std::move(on_done));
}

std::shared_ptr<Query> Unannounce(DhtNode& node, const NodeId& topic, const PeersOptions& options,
                                  Query::OnDone on_done) {
  QueryOptions q;
  q.query = false;
  q.update = true;
  return node.RunQuery(kPeersCommand, topic, InputOf(options, true), q, nullptr,
                       std::move(on_done));
}

}  // namespace hyper::swarm
