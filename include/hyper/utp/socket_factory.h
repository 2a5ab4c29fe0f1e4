// uTP connections as the runtime's stream sockets (runtime::Socket), so that whatever runs over
// TCP runs over uTP unchanged: a protocol::Replicator given this factory as
// ReplicationOptions::sockets replicates over uTP, as the reference's swarm hands a utp-native
// connection to hypercore-protocol like a TCP one.
//
//   UtpSocketFactory utp(loop, *dht->utp(), dht->local().port);  // the DHT's shared socket
//   ReplicationOptions o;  o.sockets = &utp;
//
// Connect opens a uTP connection to an IPv4 address and port (the peer's UDP socket); Listen
// accepts the Multiplexer's incoming connections (one listener at a time, on the socket's port:
// the port asked must be 0 or that one). A socket's writes complete once the connection took
// every byte (it holds at most ConnectionOptions::send_buffer unacknowledged); what arrives
// waits in the socket until read, and shrinks the window we advertise, so a slow reader slows
// the sender instead of growing our memory. Close sends a FIN and stops reading. Everything
// runs on `loop`, where the Multiplexer runs; completions are posted, never called inline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/socket.h"
#include "hyper/utp/multiplexer.h"

namespace hyper::utp {

class UtpSocketFactory : public runtime::SocketFactory {
 public:
  // `mux` (and the socket it runs on, bound on `port`) must outlive this factory; the sockets it
  // made may outlive both (they then fail their pending operations).
  UtpSocketFactory(runtime::EventLoop& loop, Multiplexer& mux, uint16_t port);
  ~UtpSocketFactory() override;
  UtpSocketFactory(const UtpSocketFactory&) = delete;
  UtpSocketFactory& operator=(const UtpSocketFactory&) = delete;

  // IOError for a host that is not an IPv4 address, when the peer refuses (RESET) or never
  // answers the SYN; Busy when the Multiplexer is full.
  std::function<void()> Connect(const std::string& host, uint16_t port, Connected done) override;
  // InvalidArgument for a port other than 0 and ours; Busy while another listener is open.
  Result<std::unique_ptr<runtime::Listener>> Listen(const std::string& host, uint16_t port,
                                                    Accepted accepted) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hyper::utp
