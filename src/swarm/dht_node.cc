#include "hyper/swarm/dht_node.h"

#include <algorithm>

#include "hyper/crypto/crypto.h"

namespace hyper::swarm {
namespace {

NodeId RandomId() {
  NodeId id{};
  crypto::RandomBytes(id);
  return id;
}

// A message's sender id, when it is valid: 32 bytes, from a node of wire version 1 or later
// (the reference treats older senders as ephemeral).
std::optional<NodeId> SenderId(const Message& m) {
  if (!m.id || !m.version || *m.version < kWireVersion) return std::nullopt;
  return ToNodeId(*m.id);
}

}  // namespace

DhtNode::DhtNode(runtime::Clock& clock, Rpc::Send send, DhtNodeOptions options)
    : clock_(clock),
      rpc_(clock, std::move(send), options.timing),
      id_(options.id ? *options.id : RandomId()),
      bootstrap_(std::move(options.bootstrap)),
      concurrency_(options.concurrency),
      tick_every_(options.tick),
      table_(id_),
      tick_timer_(clock) {
  if (!options.ephemeral) rpc_.set_id(id_);
  tick_timer_.Start(tick_every_, [this] { OnTick(); });
}

DhtNode::~DhtNode() { Close(); }

void DhtNode::Close() {
  if (closed_) return;
  closed_ = true;
  *alive_ = false;
  tick_timer_.Cancel();
  for (auto& q : queries_) q->Cancel();
  queries_.clear();
  rpc_.Close();
}

void DhtNode::SetPersistent() { rpc_.set_id(id_); }

void DhtNode::SetCommand(const std::string& name, Handler handler) {
  commands_[name] = std::move(handler);
}

void DhtNode::OnDatagram(const UdpEndpoint& from, ByteView datagram) {
  if (closed_ || from.port == 0) return;
  ++counters_.datagrams_in;
  auto decoded = DecodeMessage(datagram);
  if (!decoded.ok()) {
    ++counters_.malformed_in;
    return;
  }
  Message& m = *decoded;
  if (m.id && m.id->size() != 32) {
    ++counters_.malformed_in;
    return;
  }
  const auto sender = SenderId(m);
  if (!sender) m.id.reset();
  const size_t budget = kReplyFactor * datagram.size();
  switch (m.type) {
    case MessageType::kResponse: {
      std::optional<NodeId> bad_node;
      // Add the node before its request completes, as the reference does, so that the
      // query's callbacks see it in the table.
      if (sender) AddNode(*sender, from, m.roundtrip_token, m.to);
      rpc_.OnResponse(m, from, &bad_node);
      if (bad_node) table_.Remove(*bad_node);  // it answered with another id
      break;
    }
    case MessageType::kQuery:
      OnRequest(m, from, budget);
      break;
    case MessageType::kUpdate: {
      if (!m.roundtrip_token || !rpc_.CheckToken(*m.roundtrip_token, from.host)) return;
      OnRequest(m, from, budget);
      break;
    }
  }
}

void DhtNode::OnRequest(const Message& m, const UdpEndpoint& from, size_t budget) {
  if (auto sender = SenderId(m)) AddNode(*sender, from, std::nullopt, m.to);
  const std::string command = m.command.value_or("");
  if (command == "_ping") {
    if (m.value && !(ByteView(*m.value).size() == id_.size() &&
                     std::equal(m.value->begin(), m.value->end(), id_.begin()))) {
      return;  // a ping for another node id
    }
    auto me = EncodePeer(from);
    ++counters_.requests_answered;
    rpc_.Respond(m, from, me.ok() ? std::optional<Bytes>(std::move(*me)) : std::nullopt,
                 std::nullopt);
  } else if (command == "_find_node") {
    if (!m.target) return;
    auto target = ToNodeId(*m.target);
    if (!target) return;
    ++counters_.requests_answered;
    rpc_.Respond(m, from, std::nullopt, CloserNodes(*target, budget));
  } else if (command == "_holepunch") {
    OnHolepunch(m, from);
  } else {
    OnCommand(m, from, budget);
  }
}

void DhtNode::OnHolepunch(const Message& m, const UdpEndpoint& from) {
  if (!m.value) return;
  auto punch = DecodeHolepunch(*m.value);
  if (!punch.ok()) return;
  if (punch->to) {
    // We are the referrer: pass the request on to `to`, saying who asks.
    auto to = DecodePeer(*punch->to);
    if (!to || *to == from) return;
    Message relay = m;
    relay.version = kWireVersion;
    if (rpc_.id()) {
      relay.id = Bytes(id_.begin(), id_.end());
    } else {
      relay.id.reset();
    }
    relay.to = EncodePeer(*to).value();
    Holepunch h;
    auto from_bytes = EncodePeer(from);
    if (!from_bytes.ok()) return;
    h.from = std::move(*from_bytes);
    relay.value = EncodeHolepunch(h);
    rpc_.SendRaw(*to, relay);
    return;
  }
  UdpEndpoint answer_to = from;
  if (punch->from) {
    if (auto f = DecodePeer(*punch->from)) answer_to = *f;
  }
  ++counters_.requests_answered;
  rpc_.Respond(m, answer_to, std::nullopt, std::nullopt);
}

void DhtNode::OnCommand(const Message& m, const UdpEndpoint& from, size_t budget) {
  if (!m.target) return;
  auto target = ToNodeId(*m.target);
  const std::string command = m.command.value_or("");
  auto it = commands_.find(command);
  if (it == commands_.end() || !target) {
    // The reference answers an unknown command with an error and the closest nodes it knows.
    ++counters_.requests_answered;
    rpc_.Respond(m, from, std::nullopt,
                 target ? std::optional<Bytes>(CloserNodes(*target, budget)) : std::nullopt,
                 "Unsupported command");
    return;
  }
  CommandRequest req;
  req.type = m.type;
  req.command = command;
  req.from = from;
  req.target = *target;
  req.value = m.value;
  req.value_budget = budget;
  CommandReply reply = it->second(req);
  if (reply.drop) return;
  ++counters_.requests_answered;
  const size_t value_bytes = reply.value ? reply.value->size() : 0;
  const size_t left = budget > value_bytes ? budget - value_bytes : 0;
  rpc_.Respond(m, from, std::move(reply.value), CloserNodes(*target, left), std::move(reply.error));
}

Bytes DhtNode::CloserNodes(const NodeId& target, size_t budget) const {
  std::vector<NodeRecord> nodes;
  const size_t count = std::min(kBucketSize, budget / kNodeBytes);
  if (count == 0) return {};
  for (auto& e : table_.Closest(target, count)) nodes.push_back(e.node);
  return EncodeNodes(nodes);
}

void DhtNode::AddNode(const NodeId& id, const UdpEndpoint& from, std::optional<Bytes> token,
                      std::optional<Bytes> to) {
  if (id == id_) return;
  RoutingEntry e;
  e.node = {id, from};
  e.roundtrip_token = std::move(token);
  e.to = std::move(to);
  e.last_seen = ++seen_counter_;
  std::vector<RoutingEntry> oldest;
  if (table_.Add(e, &oldest) != RoutingTable::AddResult::kFull) return;
  // A full bucket: while bootstrapping every node was just heard from, so the newcomer waits.
  if (!bootstrapped_ || repinging_) return;
  Reping(std::move(oldest), std::move(e));
}

void DhtNode::Reping(std::vector<RoutingEntry> old, RoutingEntry newcomer) {
  if (old.empty()) {
    repinging_ = false;
    return;  // every old node answered: the newcomer is not added
  }
  repinging_ = true;
  RoutingEntry next = old.front();
  old.erase(old.begin());
  Message ping;
  ping.type = MessageType::kQuery;
  ping.command = "_ping";
  ping.value = Bytes(next.node.id.begin(), next.node.id.end());
  std::weak_ptr<bool> alive = alive_;
  rpc_.Request(std::move(ping), {next.node.address, next.node.id},
               [this, alive, next, old = std::move(old), newcomer = std::move(newcomer)](
                   const Result<Message>& r, const UdpEndpoint&) mutable {
                 if (alive.expired() || !*alive.lock()) return;
                 if (r.ok()) {
                   Reping(std::move(old), std::move(newcomer));
                   return;
                 }
                 repinging_ = false;
                 table_.Remove(next.node.id);
                 newcomer.last_seen = ++seen_counter_;
                 table_.Add(std::move(newcomer));
               });
}

void DhtNode::RemoveNode(const NodeId& id) { table_.Remove(id); }

void DhtNode::OnTick() {
  ++tick_;
  if ((tick_ & 7) == 0) {
    // Ping some of the nodes heard from longest ago; those that do not answer are removed.
    if (table_.size() == 0) {
      Bootstrap(nullptr);
    } else {
      const size_t count = queries_.size() > 2 ? 3 : 5;
      for (const auto& e : table_.Oldest(count)) {
        Message ping;
        ping.type = MessageType::kQuery;
        ping.command = "_ping";
        ping.value = Bytes(e.node.id.begin(), e.node.id.end());
        std::weak_ptr<bool> alive = alive_;
        const NodeId id = e.node.id;
        rpc_.Request(std::move(ping), {e.node.address, e.node.id},
                     [this, alive, id](const Result<Message>& r, const UdpEndpoint&) {
                       if (alive.expired() || !*alive.lock()) return;
                       if (!r.ok()) table_.Remove(id);
                     });
      }
    }
  }
  if ((tick_ & 63) == 0 && table_.size() < kBucketSize) Bootstrap(nullptr);
  tick_timer_.Start(tick_every_, [this] { OnTick(); });
}

void DhtNode::Bootstrap(std::function<void(Status)> done) {
  if (bootstrap_.empty() && table_.size() == 0) {
    bootstrapped_ = true;
    if (done) {
      clock_.Schedule(runtime::Duration::zero(), [done = std::move(done)] { done(Status::Ok()); });
    }
    return;
  }
  QueryOptions opts;
  opts.concurrency = concurrency_;
  RunQuery("_find_node", id_, std::nullopt, opts, nullptr,
           [this, done = std::move(done)](Status s, const QueryStats&) {
             bootstrapped_ = true;
             if (done) done(std::move(s));
           });
}

void DhtNode::Ping(const UdpEndpoint& peer, std::function<void(Result<UdpEndpoint>)> done) {
  Message ping;
  ping.type = MessageType::kQuery;
  ping.command = "_ping";
  rpc_.Request(std::move(ping), {peer, std::nullopt},
               [done = std::move(done)](Result<Message> r, const UdpEndpoint&) {
                 if (!r.ok()) return done(r.status());
                 if (r->error) return done(Status::IOError("ping refused: " + *r->error));
                 std::optional<UdpEndpoint> me;
                 if (r->to) me = DecodePeer(*r->to);
                 if (!me && r->value) me = DecodePeer(*r->value);
                 if (!me) return done(Status::Corruption("invalid pong"));
                 done(*me);
               });
}

std::shared_ptr<Query> DhtNode::RunQuery(const std::string& command, const NodeId& target,
                                         std::optional<Bytes> value, QueryOptions options,
                                         Query::OnReply on_reply, Query::OnDone on_done) {
  // Forget queries that ended.
  queries_.erase(std::remove_if(queries_.begin(), queries_.end(),
                                [](const std::shared_ptr<Query>& q) { return q->done(); }),
                 queries_.end());
  auto q = std::make_shared<Query>(*this, command, target, std::move(value), options,
                                   std::move(on_reply), std::move(on_done));
  queries_.push_back(q);
  q->Start();
  return q;
}

}  // namespace hyper::swarm
