#include "hyper/swarm/udp_dht.h"

#include "hyper/swarm/peers.h"

namespace hyper::swarm {

Result<std::unique_ptr<UdpDht>> UdpDht::Open(runtime::UdpSocketFactory& sockets,
                                             runtime::Clock& clock, UdpDhtOptions options) {
  std::unique_ptr<UdpDht> dht(new UdpDht(clock));
  UdpDht* self = dht.get();
  auto socket =
      sockets.Bind(options.host, options.port, [self](const UdpEndpoint& from, ByteView datagram) {
        if (self->utp_ && self->utp_->OnDatagram(from, datagram)) return;
        if (self->on_unclaimed_) self->on_unclaimed_(from, datagram);
        if (self->node_) self->node_->OnDatagram(from, datagram);
      });
  if (!socket.ok()) return socket.status();
  dht->socket_ = std::move(*socket);
  dht->node_ = std::make_unique<DhtNode>(
      clock, [self](const UdpEndpoint& to, ByteView d) { self->socket_->Send(to, d); },
      std::move(options.node));
  ServePeers(*dht->node_, dht->store_);
  dht->on_unclaimed_ = std::move(options.on_unclaimed);
  if (options.utp) {
    dht->utp_ = std::make_unique<utp::Multiplexer>(
        clock, [self](const UdpEndpoint& to, ByteView d) { self->socket_->Send(to, d); },
        std::move(options.utp_options));
  }
  return dht;
}

UdpDht::~UdpDht() {
  // The Multiplexer resets its open connections through the socket: before the socket closes.
  utp_.reset();
  if (socket_) socket_->Close();
  node_.reset();
}

}  // namespace hyper::swarm
