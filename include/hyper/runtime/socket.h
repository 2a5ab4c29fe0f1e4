// The door to the network for code that runs on the loop: stream sockets, listeners and a
// factory that makes them, so that network code can be given real TCP sockets
// (TcpSocketFactory) or fakes. Every callback runs on the loop; every method is called there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::runtime {

// A connected stream socket. A read or write still pending when the socket is closed or
// destroyed completes with an error (asio::error::operation_aborted for TCP).
class Socket {
 public:
  using Completion = std::function<void(std::error_code, size_t)>;
  virtual ~Socket() = default;

  // Reads what has arrived (at least one byte, at most buf.size()) into buf; at the end of the
  // stream the error is asio::error::eof. `buf` must stay valid until `done` runs.
  virtual void ReadSome(MutableByteView buf, Completion done) = 0;
  // Writes all of `data`, which must stay valid until `done` runs.
  virtual void Write(ByteView data, Completion done) = 0;
  // Ends both directions and releases the socket; pending operations complete with an error.
  virtual void Close() = 0;
  // The remote end: its IP address alone, and "address:port" ("?" when unknown).
  virtual std::string remote_address() const = 0;
  virtual std::string remote_endpoint() const = 0;
  // Holds the kernel's send buffer to about `bytes` (instead of letting it grow with the
  // connection's speed): what is written then waits in our process until the peer reads, so a
  // writer that produces data only as it is taken (fetching it from peers) does not run megabytes
  // ahead of its reader. Sockets without a kernel buffer ignore it.
  virtual void LimitSendBuffer(size_t bytes) { (void)bytes; }
  // A datagram transport (uTP) rather than TCP: of two connections to one peer, the swarm's
  // duplicate rule keeps the TCP one (as hyperswarm does).
  virtual bool over_datagrams() const { return false; }
};

// Accepts connections until closed or destroyed.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual uint16_t port() const = 0;
  virtual void Close() = 0;
};

class SocketFactory {
 public:
  using Connected = std::function<void(Result<std::unique_ptr<Socket>>)>;
  using Accepted = std::function<void(std::unique_ptr<Socket>)>;
  virtual ~SocketFactory() = default;

  // Connects to host:port and calls `done` once, with the socket or the error (IOError, or
  // Cancelled once the returned function was called). Call the returned function to give up.
  virtual std::function<void()> Connect(const std::string& host, uint16_t port, Connected done) = 0;
  // Listens on host:port (port 0: any) and calls `accepted` with each connection.
  virtual Result<std::unique_ptr<Listener>> Listen(const std::string& host, uint16_t port,
                                                   Accepted accepted) = 0;
};

}  // namespace hyper::runtime
