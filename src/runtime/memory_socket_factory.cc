#include "hyper/runtime/memory_socket_factory.h"

#include <algorithm>
#include <asio/error.hpp>
#include <cstring>
#include <deque>

#include "hyper/runtime/event_loop.h"

namespace hyper::runtime {
namespace {

// One direction of a connection: what was written and not yet read, and the reader waiting.
struct Pipe {
  std::deque<uint8_t> bytes;
  bool closed = false;  // the writer closed: eof once `bytes` is empty
  MutableByteView read_buf;
  Socket::Completion reader;  // a pending ReadSome
};

class MemorySocket : public Socket {
 public:
  MemorySocket(EventLoop& loop, std::shared_ptr<Pipe> in, std::shared_ptr<Pipe> out,
               std::string remote)
      : loop_(loop), in_(std::move(in)), out_(std::move(out)), remote_(std::move(remote)) {}
  ~MemorySocket() override { Close(); }

  void ReadSome(MutableByteView buf, Completion done) override {
    HYPER_ASSERT_ON_LOOP(loop_);
    if (closed_) {
      loop_.Post([done = std::move(done)] { done(asio::error::operation_aborted, 0); });
      return;
    }
    in_->read_buf = buf;
    in_->reader = std::move(done);
    Deliver(loop_, in_);
  }

  void Write(ByteView data, Completion done) override {
    HYPER_ASSERT_ON_LOOP(loop_);
    if (closed_ || out_->closed) {
      loop_.Post([done = std::move(done)] { done(asio::error::broken_pipe, 0); });
      return;
    }
    out_->bytes.insert(out_->bytes.end(), data.begin(), data.end());
    const size_t n = data.size();
    loop_.Post([done = std::move(done), n] { done(std::error_code(), n); });
    Deliver(loop_, out_);
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    out_->closed = true;
    Deliver(loop_, out_);  // the other end reads eof
    if (in_->reader) {
      auto reader = std::move(in_->reader);
      in_->reader = nullptr;
      loop_.Post([reader = std::move(reader)] { reader(asio::error::operation_aborted, 0); });
    }
    in_->closed = true;  // what the other end writes now is refused
  }

  std::string remote_address() const override { return remote_; }
  std::string remote_endpoint() const override { return remote_; }

 private:
  // Completes the pipe's pending read if there is something (or the end) to report.
  static void Deliver(EventLoop& loop, const std::shared_ptr<Pipe>& pipe) {
    if (!pipe->reader) return;
    if (pipe->bytes.empty() && !pipe->closed) return;
    auto reader = std::move(pipe->reader);
    pipe->reader = nullptr;
    if (pipe->bytes.empty()) {
      loop.Post([reader = std::move(reader)] { reader(asio::error::eof, 0); });
      return;
    }
    const size_t n = std::min(pipe->read_buf.size(), pipe->bytes.size());
    std::copy_n(pipe->bytes.begin(), n, pipe->read_buf.begin());
    pipe->bytes.erase(pipe->bytes.begin(), pipe->bytes.begin() + static_cast<ptrdiff_t>(n));
    loop.Post([reader = std::move(reader), n] { reader(std::error_code(), n); });
  }

  EventLoop& loop_;
  std::shared_ptr<Pipe> in_;
  std::shared_ptr<Pipe> out_;
  const std::string remote_;
  bool closed_ = false;
};

}  // namespace

struct MemorySocketFactory::State {
  explicit State(EventLoop& l) : loop(l) {}
  EventLoop& loop;
  std::map<std::pair<std::string, uint16_t>, Accepted> listeners;
  uint16_t next_port = 40000;
  uint64_t next_client = 1;
};

namespace {

class MemoryListener : public Listener {
 public:
  MemoryListener(std::weak_ptr<MemorySocketFactory::State> state, std::string host, uint16_t port)
      : state_(std::move(state)), host_(std::move(host)), port_(port) {}
  ~MemoryListener() override { Close(); }
  uint16_t port() const override { return port_; }
  void Close() override {
    if (auto s = state_.lock()) s->listeners.erase({host_, port_});
  }

 private:
  std::weak_ptr<MemorySocketFactory::State> state_;
  std::string host_;
  uint16_t port_;
};

}  // namespace

MemorySocketFactory::MemorySocketFactory(EventLoop& loop) : state_(std::make_shared<State>(loop)) {}

MemorySocketFactory::~MemorySocketFactory() = default;

std::function<void()> MemorySocketFactory::Connect(const std::string& host, uint16_t port,
                                                   Connected done) {
  HYPER_ASSERT_ON_LOOP(state_->loop);
  auto it = state_->listeners.find({host, port});
  if (it == state_->listeners.end()) {
    std::string where = host + ":" + std::to_string(port);
    state_->loop.Post([done = std::move(done), where] {
      done(Status::IOError("connecting to " + where + ": Connection refused"));
    });
    return [] {};
  }
  auto to_server = std::make_shared<Pipe>();
  auto to_client = std::make_shared<Pipe>();
  const std::string client_name = "memory-client:" + std::to_string(state_->next_client++);
  const std::string server_name = host + ":" + std::to_string(port);
  EventLoop& loop = state_->loop;
  Accepted accepted = it->second;
  auto server = std::make_shared<std::unique_ptr<Socket>>(
      std::make_unique<MemorySocket>(loop, to_server, to_client, client_name));
  auto client = std::make_shared<std::unique_ptr<Socket>>(
      std::make_unique<MemorySocket>(loop, to_client, to_server, server_name));
  loop.Post([accepted, server] { accepted(std::move(*server)); });
  loop.Post([done = std::move(done), client] { done(std::move(*client)); });
  return [] {};  // connects at once: nothing to give up
}

Result<std::unique_ptr<Listener>> MemorySocketFactory::Listen(const std::string& host,
                                                              uint16_t port, Accepted accepted) {
  HYPER_ASSERT_ON_LOOP(state_->loop);
  if (port == 0) {
    while (state_->listeners.count({host, state_->next_port}) != 0) state_->next_port++;
    port = state_->next_port++;
  }
  if (!state_->listeners.emplace(std::make_pair(host, port), std::move(accepted)).second) {
    return Status::IOError("listening on " + host + ":" + std::to_string(port) +
                           ": Address already in use");
  }
  return std::unique_ptr<Listener>(std::make_unique<MemoryListener>(state_, host, port));
}

}  // namespace hyper::runtime
