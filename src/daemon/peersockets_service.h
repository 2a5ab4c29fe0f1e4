// The Peersockets service: a client joins a topic and exchanges messages on it with peers,
// named by the aliases of the Peers service. On the wire between daemons a topic is the stream
// extension "peersockets/v0/<topic>" of every replication connection (the reference's
// peersockets module; docs/formats/daemon-rpc.md).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/rpc/services.grpc.pb.h"
#include "hyper/service/host.h"
#include "peers_service.h"

namespace hyper::daemon {

class PeersocketsService final : public ::Peersockets::Service {
 public:
  // The extension name's prefix, as the reference's (the topic follows it).
  static constexpr char kExtensionPrefix[] = "peersockets/v0/";
  // Messages received for one client and not yet written to it are dropped beyond this many
  // bytes (a client that does not read cannot grow the daemon).
  static constexpr size_t kMaxQueuedBytes = 8u << 20;

  PeersocketsService(service::Host& host, PeersService& peers, std::string token);

  // The first message must open a topic; later ones send data to a peer (by alias). Messages
  // from peers on the topic come back as data messages with the sender's alias.
  grpc::Status join(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<rpc::PeerMessage, rpc::PeerMessage>* stream) override;

 private:
  // One join call: what peers sent it, waiting to be written to its client.
  struct Handle {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<uint32_t, std::string>> queue;  // alias, message
    size_t queued_bytes = 0;
    bool done = false;
  };
  Status Join(const std::string& topic, const std::shared_ptr<Handle>& handle);
  void Leave(const std::string& topic, const std::shared_ptr<Handle>& handle);
  // On the replication loop: a message on the topic's extension from the peer `remote_key`.
  void OnMessage(const std::string& topic, const std::array<uint8_t, 32>& remote_key,
                 ByteView payload);

  service::Host& host_;
  PeersService& peers_;
  const std::string token_;
  std::mutex join_mu_;  // joins and leaves, one at a time (before mu_; held while registering)
  std::mutex mu_;       // topics_ (taken on the replication loop: never held while calling it)
  std::map<std::string, std::vector<std::shared_ptr<Handle>>> topics_;
};

}  // namespace hyper::daemon
