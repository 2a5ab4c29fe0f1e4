#include "hyper/swarm/query.h"

#include <algorithm>

#include "hyper/swarm/dht_node.h"

namespace hyper::swarm {

Query::Query(DhtNode& node, std::string command, NodeId target, std::optional<Bytes> value,
             QueryOptions options, OnReply on_reply, OnDone on_done)
    : node_(node),
      command_(std::move(command)),
      target_(target),
      value_(std::move(value)),
      options_(options),
      on_reply_(std::move(on_reply)),
      on_done_(std::move(on_done)) {
  if (!options_.query && !options_.update) options_.query = true;
  if (options_.concurrency == 0) options_.concurrency = 1;
}

void Query::Start() {
  for (const auto& e : node_.table().Closest(target_, kBucketSize)) {
    AddCandidate(unverified_, Candidate{e.node, std::nullopt, std::nullopt, false, 1});
  }
  // Too few known nodes: ask every bootstrap node too (without an id, as they are found).
  const auto& bootstrap = node_.bootstrap_nodes();
  if (unverified_.size() < bootstrap.size()) {
    for (const auto& b : bootstrap) Send(NodeRecord{NodeId{}, b}, false, false, std::nullopt, 1);
  }
  MoveCloser();
}

void Query::Cancel() {
  state_ = State::kDone;
  on_reply_ = nullptr;
  on_done_ = nullptr;
}

void Query::AddCandidate(std::vector<Candidate>& list, Candidate c) {
  if (c.node.id == node_.id()) return;
  if (list.size() == kBucketSize && !Closer(target_, c.node.id, list.back().node.id)) return;
  for (const auto& e : list) {
    if (e.node.id == c.node.id) return;
  }
  auto pos = std::find_if(list.begin(), list.end(), [&](const Candidate& e) {
    return Closer(target_, c.node.id, e.node.id);
  });
  list.insert(pos, std::move(c));
  if (list.size() > kBucketSize) list.pop_back();
}

void Query::Send(const NodeRecord& node, bool known_id, bool is_update,
                 const std::optional<Bytes>& token, uint32_t hop) {
  ++inflight_;
  ++stats_.requests;
  Message m;
  m.type = is_update ? MessageType::kUpdate : MessageType::kQuery;
  m.target = Bytes(target_.begin(), target_.end());
  if (is_update) {
    m.roundtrip_token = token;
    m.command = command_;
    m.value = value_;
  } else if (options_.query) {
    m.command = command_;
    m.value = value_;
  } else {
    m.command = "_find_node";
  }
  std::optional<NodeId> asked;
  if (known_id) asked = node.id;
  std::weak_ptr<Query> self = weak_from_this();
  node_.rpc().Request(std::move(m), {node.address, asked},
                      [self, asked, hop](Result<Message> r, const UdpEndpoint& from) {
                        if (auto q = self.lock()) q->OnResponse(std::move(r), from, asked, hop);
                      });
}

void Query::OnResponse(Result<Message> r, const UdpEndpoint& from, std::optional<NodeId> asked_id,
                       uint32_t hop) {
  --inflight_;
  if (!r.ok() && asked_id && r.status().code() == Code::kTimeout) {
    node_.RemoveNode(*asked_id);  // every try failed
  }
  if (state_ == State::kDone) return;
  if (!r.ok()) {
    ++stats_.errors;
    Step();
    return;
  }
  const Message& m = *r;
  ++stats_.responses;
  if (state_ == State::kMovingCloser) stats_.max_hops = std::max(stats_.max_hops, hop);
  const std::optional<NodeId> sender =
      (m.id && m.version && *m.version >= kWireVersion) ? ToNodeId(*m.id) : std::nullopt;
  if (sender && m.roundtrip_token && *sender != node_.id()) {
    Candidate verified{NodeRecord{*sender, from}, std::nullopt, m.roundtrip_token, false, hop};
    AddCandidate(closest_, std::move(verified));
  }
  if (state_ == State::kMovingCloser && m.closer_nodes) {
    auto nodes = DecodeNodes(*m.closer_nodes, kBucketSize * 3);
    if (nodes.ok()) {
      for (auto& n : *nodes)
        AddCandidate(unverified_, Candidate{n, from, std::nullopt, false, hop + 1});
    }
  } else if (state_ == State::kUpdating) {
    ++stats_.updates;
  }
  const bool report = !m.error && (options_.query || state_ != State::kMovingCloser);
  if (report && on_reply_) {
    QueryReply reply;
    reply.type = state_ == State::kUpdating ? MessageType::kUpdate : MessageType::kQuery;
    reply.node_id = sender;
    reply.from = from;
    if (m.to) reply.to = DecodePeer(*m.to);
    reply.value = m.value;
    auto keep = shared_from_this();  // the callback may drop the last other reference
    on_reply_(reply);
    if (state_ == State::kDone) return;
  }
  Step();
}

void Query::Step() {
  if (state_ == State::kMovingCloser) {
    MoveCloser();
  } else if (state_ == State::kUpdating) {
    SendUpdates();
  }
}

void Query::MoveCloser() {
  size_t sent = 0;
  const size_t free = options_.concurrency > inflight_ ? options_.concurrency - inflight_ : 0;
  for (auto& c : unverified_) {
    if (sent >= free) break;
    if (c.queried) continue;
    c.queried = true;
    Send(c.node, true, false, std::nullopt, c.hop);
    ++sent;
  }
  if (sent != 0 || inflight_ != 0) return;
  if (options_.update) {
    for (auto& c : closest_) c.queried = false;
    state_ = State::kUpdating;
    SendUpdates();
  } else {
    Finalize();
  }
}

void Query::SendUpdates() {
  size_t sent = 0;
  const size_t free = options_.concurrency > inflight_ ? options_.concurrency - inflight_ : 0;
  for (auto& c : closest_) {
    if (sent >= free) break;
    if (c.queried) continue;
    c.queried = true;
    Send(c.node, true, true, c.token, c.hop);
    ++sent;
  }
  if (sent != 0 || inflight_ != 0) return;
  Finalize();
}

void Query::Finalize() {
  if (state_ == State::kDone) return;
  const bool was_updating = state_ == State::kUpdating;
  state_ = State::kDone;
  for (const auto& c : closest_) stats_.closest.push_back(c.node);
  if (!closest_.empty()) stats_.hops = closest_.front().hop;
  Status s;
  if (stats_.responses == 0) {
    s = Status::NotFound("no DHT nodes responded");
  } else if (was_updating && stats_.updates == 0) {
    s = Status::NotFound("no close DHT nodes responded to the update");
  }
  auto done = std::move(on_done_);
  on_reply_ = nullptr;
  if (done) done(s, stats_);
}

}  // namespace hyper::swarm
