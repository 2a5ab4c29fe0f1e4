#include "hyper/runtime/memory_udp_socket_factory.h"

#include <map>
#include <string>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {

struct MemoryUdpSocketFactory::State {
  std::map<std::pair<std::string, uint16_t>, Received> bound;
  uint16_t next_port = 40000;
  size_t in_flight = 0;
  uint64_t delivered = 0;
};

namespace {

class MemoryUdpSocket : public UdpSocket {
 public:
  MemoryUdpSocket(EventLoop& loop, std::shared_ptr<MemoryUdpSocketFactory::State> state,
                  UdpEndpoint local)
      : loop_(loop), state_(std::move(state)), local_(std::move(local)) {}
  ~MemoryUdpSocket() override { Close(); }

  void Send(const UdpEndpoint& to, ByteView datagram) override {
    HYPER_ASSERT_ON_LOOP(loop_);
    if (closed_) return;
    // The source as the receiver sees it: a socket bound to 0.0.0.0 sends from 127.0.0.1.
    UdpEndpoint from = local_;
    if (from.host == "0.0.0.0") from.host = "127.0.0.1";
    state_->in_flight++;
    std::weak_ptr<MemoryUdpSocketFactory::State> weak = state_;
    loop_.Post([weak, to, from, data = Bytes(datagram.begin(), datagram.end())] {
      auto state = weak.lock();
      if (!state) return;
      state->in_flight--;
      auto it = state->bound.find({to.host, to.port});
      if (it == state->bound.end()) it = state->bound.find({"0.0.0.0", to.port});
      if (it == state->bound.end()) return;  // nobody there: dropped
      state->delivered++;
      UdpSocketFactory::Received receiver =
          it->second;  // the receiver may close its socket meanwhile
      receiver(from, data);
    });
  }

  UdpEndpoint local() const override { return local_; }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    state_->bound.erase({local_.host, local_.port});
  }

 private:
  EventLoop& loop_;
  std::shared_ptr<MemoryUdpSocketFactory::State> state_;
  UdpEndpoint local_;
  bool closed_ = false;
};

}  // namespace

MemoryUdpSocketFactory::MemoryUdpSocketFactory(EventLoop& loop)
    : loop_(loop), state_(std::make_shared<State>()) {}

MemoryUdpSocketFactory::~MemoryUdpSocketFactory() = default;

Result<std::unique_ptr<UdpSocket>> MemoryUdpSocketFactory::Bind(const std::string& host,
                                                                uint16_t port, Received received) {
  HYPER_ASSERT_ON_LOOP(loop_);
  if (port == 0) {
    while (state_->bound.count({host, state_->next_port}) != 0) state_->next_port++;
    port = state_->next_port++;
  }
  if (!state_->bound.emplace(std::make_pair(host, port), std::move(received)).second) {
    return Status::IOError("address in use: " + host + ":" + std::to_string(port));
  }
  return std::unique_ptr<UdpSocket>(
      std::make_unique<MemoryUdpSocket>(loop_, state_, UdpEndpoint{host, port}));
}

size_t MemoryUdpSocketFactory::in_flight() const { return state_->in_flight; }
uint64_t MemoryUdpSocketFactory::delivered() const { return state_->delivered; }

}  // namespace hyper::runtime
