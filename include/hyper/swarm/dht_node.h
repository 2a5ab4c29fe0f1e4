// A DHT node compatible with dht-rpc 4 (the DHT of @hyperswarm/dht 4), sans-IO: datagrams
// come in through OnDatagram and go out through the `send` function given at construction
// (UdpDht binds it to a UDP socket on the runtime's loop; tests connect nodes in memory).
// It keeps the routing table and its upkeep (the oldest nodes pinged every 40 s, a full
// bucket's oldest pinged before a newcomer replaces one, a new bootstrap every 320 s while
// it knows fewer than 20 nodes), answers `_ping`, `_find_node`, `_holepunch` (relaying as a
// referrer) and the commands registered with SetCommand, and runs iterative queries and
// updates. Ephemeral nodes send no id (nobody adds them to a routing table); persistent ones
// do. No amplification: the closer nodes and the value of an answer (peers, ...) take at most
// kReplyFactor times the request's bytes (the fixed part of a reply, its id, token and the
// requester's address, comes on top); tiny requests get fewer closer nodes than the 20 the
// reference sends. Every method runs on one thread (the loop's); timers run on the given Clock.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/swarm/query.h"
#include "hyper/swarm/routing_table.h"
#include "hyper/swarm/rpc.h"

namespace hyper::swarm {

// An answer's closer nodes and value together take at most this many times the request's size.
inline constexpr size_t kReplyFactor = 3;

struct DhtNodeOptions {
  std::optional<NodeId> id;  // random when absent
  bool ephemeral = true;
  std::vector<UdpEndpoint> bootstrap;  // never a default list: callers say where
  RpcTiming timing;
  size_t concurrency = 16;
  runtime::Duration tick = std::chrono::seconds(5);
};

// A command request as a handler sees it.
struct CommandRequest {
  MessageType type = MessageType::kQuery;  // kQuery or kUpdate (the token was checked)
  std::string command;
  UdpEndpoint from;
  NodeId target{};
  std::optional<Bytes> value;
  // Bytes the answer's value may take (kReplyFactor times the request's size); what the value
  // leaves is filled with closer nodes.
  size_t value_budget = 0;
};

// What a handler answers: a value (or none), or an error message sent back as `error`.
struct CommandReply {
  std::optional<Bytes> value;
  std::optional<std::string> error;
  bool drop = false;  // answer nothing (a value that does not decode, as the reference)
};

struct DhtCounters {
  uint64_t datagrams_in = 0;
  uint64_t malformed_in = 0;
  uint64_t requests_answered = 0;
};

class DhtNode {
 public:
  using Handler = std::function<CommandReply(const CommandRequest&)>;

  DhtNode(runtime::Clock& clock, Rpc::Send send, DhtNodeOptions options);
  ~DhtNode();
  DhtNode(const DhtNode&) = delete;
  DhtNode& operator=(const DhtNode&) = delete;

  // One datagram from the network.
  void OnDatagram(const UdpEndpoint& from, ByteView datagram);

  void SetCommand(const std::string& name, Handler handler);

  // Queries `_find_node` for our own id, filling the routing table; `done` when it ends
  // (Ok when some node answered, or when there is no bootstrap node to ask).
  void Bootstrap(std::function<void(Status)> done);
  // Pings `peer`; our address as it saw us.
  void Ping(const UdpEndpoint& peer, std::function<void(Result<UdpEndpoint>)> done);
  // Runs a query and/or update of `command` towards `target`.
  std::shared_ptr<Query> RunQuery(const std::string& command, const NodeId& target,
                                  std::optional<Bytes> value, QueryOptions options,
                                  Query::OnReply on_reply, Query::OnDone on_done);

  // Starts sending our id so that others add us to their tables (a persistent node).
  void SetPersistent();
  void Close();

  const NodeId& id() const { return id_; }
  bool ephemeral() const { return !rpc_.id().has_value(); }
  bool bootstrapped() const { return bootstrapped_; }
  const RoutingTable& table() const { return table_; }
  const std::vector<UdpEndpoint>& bootstrap_nodes() const { return bootstrap_; }
  Rpc& rpc() { return rpc_; }
  const DhtCounters& counters() const { return counters_; }

  // Used by Query: a node that failed every try or answered with another id.
  void RemoveNode(const NodeId& id);

 private:
  // `budget`: the bytes the answer's value and closer nodes may take.
  void OnRequest(const Message& m, const UdpEndpoint& from, size_t budget);
  void OnHolepunch(const Message& m, const UdpEndpoint& from);
  void OnCommand(const Message& m, const UdpEndpoint& from, size_t budget);
  void AddNode(const NodeId& id, const UdpEndpoint& from, std::optional<Bytes> token,
               std::optional<Bytes> to);
  void Reping(std::vector<RoutingEntry> old, RoutingEntry newcomer);
  void OnTick();
  // The closest nodes to `target` we know, as many as fit in `budget` bytes (at most 20).
  Bytes CloserNodes(const NodeId& target, size_t budget) const;

  runtime::Clock& clock_;
  Rpc rpc_;
  NodeId id_;
  std::vector<UdpEndpoint> bootstrap_;
  size_t concurrency_;
  runtime::Duration tick_every_;
  RoutingTable table_;
  std::unordered_map<std::string, Handler> commands_;
  std::vector<std::shared_ptr<Query>> queries_;
  runtime::Timer tick_timer_;
  uint64_t tick_ = 0;
  uint64_t seen_counter_ = 0;
  bool bootstrapped_ = false;
  bool repinging_ = false;
  bool closed_ = false;
  DhtCounters counters_;
  // Guards callbacks of pings and queries that outlive the node.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hyper::swarm
