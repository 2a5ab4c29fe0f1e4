// hyper::gateway::Server — an HTTP/1.1 server on the process's runtime: every socket lives on
// the event loop (runtime::EventLoop, through a runtime::SocketFactory), and the handler, which
// may block (reading a drive, waiting for a peer), runs on an executor of the server's own with
// a fixed number of threads. Connections stay open between requests (keep-alive; pipelined
// requests are answered in order). A body is written a chunk at a time, the next chunk made only
// once the client took the one before: a slow client holds one chunk of memory and no thread;
// one that goes away is dropped at its next write, and one that takes nothing for
// `write_timeout` is cut off.
//
//   auto server = gateway::Server::Start(rt.loop(), rt.sockets(), handler, {.port = 0});
//   uint16_t port = (*server)->port();
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hyper/gateway/http_request.h"
#include "hyper/gateway/http_response.h"
#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/executor.h"
#include "hyper/runtime/socket.h"
#include "hyper/util/status.h"

namespace hyper::gateway {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;           // 0: any free port
  size_t max_connections = 1024;  // more are closed at once
  RequestLimits limits;
  // A connection that sends no complete request for this long (idle between requests, or slow
  // to send a head) is closed.
  std::chrono::milliseconds idle_timeout{60000};
  // A client that takes no bytes of an answer for this long is cut off.
  std::chrono::milliseconds write_timeout{60000};
  size_t threads = 8;        // the handler's threads
  size_t max_queued = 4096;  // handler jobs waiting: beyond, 503
};

// Builds the answer to a request (never a request the parser refused). Runs on one of the
// server's threads and may block.
using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct ServerStats {
  uint64_t connections = 0;  // open now
  uint64_t accepted = 0;     // since the start
  uint64_t requests = 0;     // answered (heads sent)
};

class Server {
 public:
  // Listens on options.host:port. The loop must run.
  static Result<std::unique_ptr<Server>> Start(runtime::EventLoop& loop,
                                               runtime::SocketFactory& sockets, Handler handler,
                                               const ServerOptions& options);
  // Stop().
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const { return port_; }
  // Stops listening, closes every connection and waits for the handler's jobs to end. Not on the
  // loop; idempotent.
  void Stop();
  ServerStats stats() const;

  struct State;  // shared with the connections (server.cc)

 private:
  Server(runtime::EventLoop& loop, std::shared_ptr<State> state,
         std::unique_ptr<runtime::Executor> executor)
      : loop_(loop), state_(std::move(state)), executor_(std::move(executor)) {}

  runtime::EventLoop& loop_;
  std::shared_ptr<State> state_;
  std::unique_ptr<runtime::Executor> executor_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace hyper::gateway
