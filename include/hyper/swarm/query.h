// One iterative query or update of the DHT (dht-rpc's QueryStream), sans-IO: it starts from
// the routing table's closest nodes to the target (and the bootstrap nodes when the table
// knows fewer), asks up to `concurrency` nodes at a time, learns closer nodes from each
// response, and ends when no unasked node closer than the K closest that answered is left.
// An update then sends the command to those K closest, each with the round-trip token it gave.
// Runs on the node's thread; owned by the DhtNode while it runs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hyper/swarm/compact_address.h"
#include "hyper/swarm/message.h"
#include "hyper/swarm/routing_table.h"

namespace hyper::swarm {

class DhtNode;

struct QueryOptions {
  bool query = true;    // send the command to each node on the way (else `_find_node`)
  bool update = false;  // then send it as an update to the closest nodes
  size_t concurrency = 16;
};

// One answer of a query: from which node, of which kind, with its value.
struct QueryReply {
  MessageType type = MessageType::kQuery;  // kQuery or kUpdate: which phase answered
  std::optional<NodeId> node_id;
  UdpEndpoint from;
  std::optional<UdpEndpoint> to;  // our address as that node saw it
  std::optional<Bytes> value;
};

struct QueryStats {
  size_t responses = 0;
  size_t updates = 0;
  size_t errors = 0;
  size_t requests = 0;
  std::vector<NodeRecord> closest;  // the K closest that answered, closest first
  // Hops: a node from our table or the bootstrap list is 1 hop away, a node learned from the
  // answer of a node h hops away is h + 1. `hops` is the closest answering node's, `max_hops`
  // the farthest that answered.
  uint32_t hops = 0;
  uint32_t max_hops = 0;
};

class Query : public std::enable_shared_from_this<Query> {
 public:
  using OnReply = std::function<void(const QueryReply&)>;
  using OnDone = std::function<void(Status, const QueryStats&)>;

  Query(DhtNode& node, std::string command, NodeId target, std::optional<Bytes> value,
        QueryOptions options, OnReply on_reply, OnDone on_done);
  void Start();
  // Ends the query now (Cancelled); nothing is called back after.
  void Cancel();
  bool done() const { return state_ == State::kDone; }

 private:
  struct Candidate {
    NodeRecord node;
    std::optional<UdpEndpoint> referrer;
    std::optional<Bytes> token;
    bool queried = false;
    uint32_t hop = 1;
  };
  enum class State { kMovingCloser, kUpdating, kDone };

  void Send(const NodeRecord& node, bool known_id, bool is_update,
            const std::optional<Bytes>& token, uint32_t hop);
  void OnResponse(Result<Message> r, const UdpEndpoint& from, std::optional<NodeId> asked_id,
                  uint32_t hop);
  void AddCandidate(std::vector<Candidate>& list, Candidate c);
  void Step();
  void MoveCloser();
  void SendUpdates();
  void Finalize();

  DhtNode& node_;
  std::string command_;
  NodeId target_;
  std::optional<Bytes> value_;
  QueryOptions options_;
  OnReply on_reply_;
  OnDone on_done_;
  State state_ = State::kMovingCloser;
  size_t inflight_ = 0;
  QueryStats stats_;
  std::vector<Candidate> unverified_;  // sorted by distance, at most K
  std::vector<Candidate> closest_;     // verified (answered with a token), at most K
};

}  // namespace hyper::swarm
