// The request layer of the DHT (dht-rpc's IO), sans-IO: it numbers requests (16-bit ids, as
// the reference), sends them through the caller's `send` function, resends a request that is
// not answered (3 sends in all, 2.25 s apart) and fails it after 7.5 s, matching each response
// to its request by id and by the address it was sent to. It also makes and checks round-trip
// tokens: BLAKE2b-256 of a secret and the peer's host, the secret rotated every 5 minutes and
// the previous one still accepted. Timers run on the given Clock (a VirtualClock in tests).
// Runs on one thread (the loop's); nothing here blocks.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "hyper/runtime/clock.h"
#include "hyper/runtime/timer.h"
#include "hyper/swarm/compact_address.h"
#include "hyper/swarm/message.h"

namespace hyper::swarm {

// Our requests, but pings and holepunches, are padded to about this size (see Message::padding):
// 3x it holds a full answer, 20 closer nodes (760 bytes) and 128 peers (770).
inline constexpr size_t kRequestPadTo = 520;

struct RpcTiming {
  runtime::Duration resend_after = std::chrono::milliseconds(2250);
  int sends = 3;                                                // the first and two resends
  runtime::Duration timeout = std::chrono::milliseconds(7500);  // from the first send
  runtime::Duration rotate_secret = std::chrono::minutes(5);
  size_t max_inflight = 256;  // more requests wait in a queue ...
  size_t max_queued = 4096;   // ... which refuses more (Busy)
};

// Where a request goes: the address, and the node id when it is known (a response with
// another id marks the node bad).
struct RpcPeer {
  UdpEndpoint address;
  std::optional<NodeId> id;
};

class Rpc {
 public:
  using Send = std::function<void(const UdpEndpoint& to, ByteView datagram)>;
  // The response (which may carry `error`), or Timeout / Cancelled / Busy.
  using Done = std::function<void(Result<Message> response, const UdpEndpoint& from)>;

  Rpc(runtime::Clock& clock, Send send, RpcTiming timing = {});
  ~Rpc();
  Rpc(const Rpc&) = delete;
  Rpc& operator=(const Rpc&) = delete;

  // The id sent in messages (absent: ephemeral).
  void set_id(std::optional<NodeId> id) { id_ = id; }
  const std::optional<NodeId>& id() const { return id_; }

  // Sends `request` (a query or an update; its rid, version, id and `to` are filled in here)
  // and calls `done` once with the response or the error.
  void Request(Message request, const RpcPeer& peer, Done done);
  // Answers `request` from `peer`: a response with a token, or, with `error` set, without one.
  void Respond(const Message& request, const UdpEndpoint& peer, std::optional<Bytes> value,
               std::optional<Bytes> closer_nodes, std::optional<std::string> error = {});
  // Sends a datagram as it is (a relayed holepunch).
  void SendRaw(const UdpEndpoint& to, const Message& m);

  // Matches a response: true when it answered a request of ours (which is then done).
  // `bad_node` is set to the id the request's peer was known by when the response carried
  // another (or none).
  bool OnResponse(const Message& response, const UdpEndpoint& from,
                  std::optional<NodeId>* bad_node);
  // A valid token for `host` (now or before the last rotation)?
  bool CheckToken(ByteView token, const std::string& host) const;
  Bytes Token(const std::string& host) const;

  // Fails every request (Cancelled) and sends nothing more.
  void Close();

  size_t inflight() const { return requests_.size(); }
  size_t queued() const { return queue_.size(); }
  uint64_t sent_datagrams() const { return sent_datagrams_; }

 private:
  struct Pending {
    Message message;
    RpcPeer peer;
    Done done;
  };
  struct InFlight {
    Bytes datagram;
    RpcPeer peer;
    Done done;
    int sends = 0;
    runtime::TimePoint deadline;
    std::unique_ptr<runtime::Timer> timer;
  };

  void StartRequest(Pending p);
  void OnTimer(uint16_t rid);
  void Finish(uint16_t rid, Result<Message> result, const UdpEndpoint& from);
  void SendDatagram(const UdpEndpoint& to, ByteView d);
  void Rotate();

  runtime::Clock& clock_;
  Send send_;
  RpcTiming timing_;
  std::optional<NodeId> id_;
  uint16_t next_rid_;
  std::unordered_map<uint16_t, InFlight> requests_;
  std::deque<Pending> queue_;
  std::array<std::array<uint8_t, 32>, 2> secrets_{};
  runtime::Timer rotate_timer_;
  bool closed_ = false;
  uint64_t sent_datagrams_ = 0;
};

}  // namespace hyper::swarm
