// The gateway's HTTP server: connections on the event loop, handler and body chunks on the
// server's executor, one chunk in flight per connection.
#include "hyper/gateway/server.h"

#include <array>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdio>
#include <set>
#include <utility>

namespace hyper::gateway {

using SteadyClock = std::chrono::steady_clock;

class Connection;

struct Server::State {
  State(runtime::EventLoop& l, Handler h, ServerOptions o)
      : loop(l), handler(std::move(h)), options(std::move(o)) {}
  runtime::EventLoop& loop;
  Handler handler;
  ServerOptions options;
  runtime::Executor* executor = nullptr;  // used on the loop while !stopped
  std::unique_ptr<runtime::Listener> listener;
  std::set<std::shared_ptr<Connection>> connections;  // on the loop
  bool stopped = false;                               // on the loop
  std::atomic<uint64_t> open{0}, accepted{0}, requests{0};
};

namespace {

using State = Server::State;

}  // namespace

// One client connection. Lives on the loop; jobs on the executor hold it alive and post back.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<State> state, std::unique_ptr<runtime::Socket> socket)
      : state_(std::move(state)), socket_(std::move(socket)), timer_(state_->loop.context()) {}

  void Start() {
    Arm(state_->options.idle_timeout);
    Read();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    socket_->Close();
    timer_.cancel();
    response_.reset();
    state_->open.fetch_sub(1);
    // Last: this may destroy the connection once the pending operations let go of it.
    state_->connections.erase(shared_from_this());
  }

 private:
  static constexpr size_t kReadBytes = 16384;

  // Closes the connection when nothing happened for `timeout` (each progress calls Arm again).
  void Arm(std::chrono::milliseconds timeout) {
    deadline_ = SteadyClock::now() + timeout;
    if (timer_armed_) return;
    timer_armed_ = true;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      self->timer_armed_ = false;
      if (ec || self->closed_) return;
      if (self->working_) {
        // The handler runs (bounded by its own timeouts): check again later.
        self->Arm(self->state_->options.idle_timeout);
        return;
      }
      if (SteadyClock::now() < self->deadline_) {
        const auto left = self->deadline_ - SteadyClock::now();
        self->Arm(std::chrono::duration_cast<std::chrono::milliseconds>(left) +
                  std::chrono::milliseconds(1));
        return;
      }
      self->Close();
    });
  }

  void Read() {
    if (closed_ || reading_) return;
    reading_ = true;
    socket_->ReadSome(MutableByteView(read_buf_.data(), read_buf_.size()),
                      [self = shared_from_this()](std::error_code ec, size_t n) {
                        self->reading_ = false;
                        if (self->closed_) return;
                        if (ec) {
                          // The client went away (or half-closed): nothing more to answer unless
                          // a request is being answered now, whose write will fail or finish.
                          if (!self->working_) self->Close();
                          self->eof_ = true;
                          return;
                        }
                        self->in_.append(reinterpret_cast<const char*>(self->read_buf_.data()), n);
                        self->Parse();
                      });
  }

  void Parse() {
    if (closed_ || working_) return;
    if (in_.empty()) {
      if (eof_) {
        Close();
        return;
      }
      Read();
      return;
    }
    ParseResult r = ParseRequest(in_, state_->options.limits);
    if (r.state == ParseState::kIncomplete) {
      if (eof_) {
        Close();
        return;
      }
      Read();
      return;
    }
    working_ = true;
    if (r.state == ParseState::kError) {
      keep_alive_ = false;
      in_.clear();
      Send(std::make_shared<HttpResponse>(TextResponse(r.status, r.why)));
      return;
    }
    in_.erase(0, r.consumed);
    keep_alive_ = r.request.KeepAlive();
    if (r.request.method != "GET" && r.request.method != "HEAD") {
      auto resp = std::make_shared<HttpResponse>(TextResponse(405, "only GET and HEAD"));
      resp->Set("Allow", "GET, HEAD");
      Send(std::move(resp));
      return;
    }
    http10_ = r.request.minor_version == 0;
    auto request = std::make_shared<HttpRequest>(std::move(r.request));
    auto self = shared_from_this();
    // The job hands its reference to the loop: a connection is always destroyed there.
    bool posted = state_->executor->TryPost(this, [self, request]() mutable {
      auto resp = std::make_shared<HttpResponse>(self->state_->handler(*request));
      resp->head = request->method == "HEAD";
      runtime::EventLoop& loop = self->state_->loop;
      loop.Post([self = std::move(self), resp] {
        if (!self->state_->stopped) self->Send(resp);
      });
    });
    if (!posted) {
      keep_alive_ = false;
      Send(std::make_shared<HttpResponse>(TextResponse(503, "too many requests wait")));
    }
  }

  void Send(std::shared_ptr<HttpResponse> resp) {
    if (closed_) return;
    state_->requests.fetch_add(1);
    if (eof_) keep_alive_ = false;
    response_ = std::move(resp);
    if (response_->send_buffer != 0) socket_->LimitSendBuffer(response_->send_buffer);
    const bool body = !response_->head && response_->status != 304;
    // A body of unknown length: chunks for HTTP/1.1, the connection's end for HTTP/1.0.
    chunked_ = false;
    if (response_->stream && response_->unknown_length && body) {
      chunked_ = !http10_;
      if (http10_) keep_alive_ = false;
    }
    out_ = SerializeHead(*response_, keep_alive_, chunked_);
    if (body && !response_->stream) out_ += response_->body;
    sent_ = 0;
    Write(body && response_->stream != nullptr);
  }

  // Writes out_; then the next chunk of the stream (`more`) or the end of the answer.
  void Write(bool more) {
    Arm(state_->options.write_timeout);
    writing_ = true;
    socket_->Write(ByteView(reinterpret_cast<const uint8_t*>(out_.data()), out_.size()),
                   [self = shared_from_this(), more](std::error_code ec, size_t) {
                     self->writing_ = false;
                     if (self->closed_) return;
                     if (ec) {
                       self->Close();
                       return;
                     }
                     if (more) {
                       self->NextChunk();
                     } else {
                       self->Finish();
                     }
                   });
  }

  void NextChunk() {
    auto self = shared_from_this();
    std::shared_ptr<HttpResponse> resp = response_;
    bool posted = state_->executor->TryPost(this, [self, resp]() mutable {
      auto chunk = std::make_shared<Result<std::string>>(std::string());
      auto next = resp->stream->Next();
      if (next.ok()) {
        (*chunk)->assign(reinterpret_cast<const char*>(next->data()), next->size());
      } else {
        *chunk = next.status();
      }
      resp.reset();  // the connection holds the answer while it lives
      runtime::EventLoop& loop = self->state_->loop;
      loop.Post([self = std::move(self), chunk] {
        if (self->state_->stopped || self->closed_) return;
        self->OnChunk(std::move(*chunk));
      });
    });
    if (!posted) Close();
  }

  void OnChunk(Result<std::string> chunk) {
    if (response_->unknown_length) {
      if (!chunk.ok()) {
        Close();  // the missing last chunk (or the early close) tells the client
        return;
      }
      if (chunk->empty()) {
        if (!chunked_) {
          Close();  // HTTP/1.0: the end of the connection ends the body
          return;
        }
        out_ = "0\r\n\r\n";
        Write(/*more=*/false);
        return;
      }
      sent_ += chunk->size();
      if (chunked_) {
        char size[24];
        std::snprintf(size, sizeof(size), "%zx\r\n", chunk->size());
        out_ = size;
        out_ += *chunk;
        out_ += "\r\n";
      } else {
        out_ = std::move(*chunk);
      }
      Write(/*more=*/true);
      return;
    }
    const uint64_t length = response_->content_length;
    if (!chunk.ok() || chunk->size() > length - sent_) {
      // The status line is out: the only way to say the body is wrong is to cut it short.
      Close();
      return;
    }
    if (chunk->empty()) {
      if (sent_ != length) {
        Close();
        return;
      }
      Finish();
      return;
    }
    sent_ += chunk->size();
    out_ = std::move(*chunk);
    Write(/*more=*/true);
  }

  void Finish() {
    response_.reset();
    out_.clear();
    out_.shrink_to_fit();
    working_ = false;
    if (!keep_alive_) {
      Close();
      return;
    }
    Arm(state_->options.idle_timeout);
    Parse();
  }

  std::shared_ptr<State> state_;
  std::unique_ptr<runtime::Socket> socket_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  SteadyClock::time_point deadline_{};
  std::array<uint8_t, kReadBytes> read_buf_{};
  std::string in_;   // received, not yet parsed
  std::string out_;  // being written
  std::shared_ptr<HttpResponse> response_;
  uint64_t sent_ = 0;  // body bytes of the stream written
  bool reading_ = false;
  bool writing_ = false;
  bool working_ = false;  // a request is being answered
  bool keep_alive_ = true;
  bool http10_ = false;   // the request being answered is HTTP/1.0
  bool chunked_ = false;  // the answer's body goes out in chunks (Transfer-Encoding)
  bool eof_ = false;
  bool closed_ = false;
};

Result<std::unique_ptr<Server>> Server::Start(runtime::EventLoop& loop,
                                              runtime::SocketFactory& sockets, Handler handler,
                                              const ServerOptions& options) {
  auto state = std::make_shared<State>(loop, std::move(handler), options);
  runtime::ExecutorOptions eo;
  eo.threads = std::max<size_t>(1, options.threads);
  eo.max_queued = std::max<size_t>(1, options.max_queued);
  eo.name = "hyper-http";
  auto executor = std::make_unique<runtime::Executor>(eo);
  state->executor = executor.get();
  std::weak_ptr<State> weak = state;
  Result<uint16_t> port = loop.Call([&]() -> Result<uint16_t> {
    auto listener =
        sockets.Listen(options.host, options.port, [weak](std::unique_ptr<runtime::Socket> socket) {
          auto st = weak.lock();
          if (!st || st->stopped) {
            socket->Close();
            return;
          }
          st->accepted.fetch_add(1);
          if (st->connections.size() >= st->options.max_connections) {
            socket->Close();
            return;
          }
          auto conn = std::make_shared<Connection>(st, std::move(socket));
          st->connections.insert(conn);
          st->open.fetch_add(1);
          conn->Start();
        });
    if (!listener.ok()) return listener.status();
    uint16_t p = (*listener)->port();
    state->listener = std::move(listener).value();
    return p;
  });
  if (!port.ok()) {
    return port.status().Annotate("listening on " + options.host + ":" +
                                  std::to_string(options.port));
  }
  std::unique_ptr<Server> server(new Server(loop, std::move(state), std::move(executor)));
  server->port_ = *port;
  return server;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (stopped_) return;
  stopped_ = true;
  loop_.Call([this] {
    state_->stopped = true;
    if (state_->listener) state_->listener->Close();
    state_->listener.reset();
    auto connections = state_->connections;
    for (const auto& c : connections) c->Close();
  });
  executor_->Shutdown();
  // The executor's last jobs may have posted their answers to the loop; let those run (they find
  // their connections closed and drop) before Stop returns, so that nothing they hold, such as a
  // drive of the caller's, outlives the caller.
  loop_.Call([] {});
}

ServerStats Server::stats() const {
  ServerStats s;
  s.connections = state_->open.load();
  s.accepted = state_->accepted.load();
  s.requests = state_->requests.load();
  return s;
}

}  // namespace hyper::gateway
