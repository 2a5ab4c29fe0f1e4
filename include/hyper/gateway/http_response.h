// An HTTP answer as the gateway's handler builds it: status, headers, and a body either held
// whole (small: pages, listings' batches, errors) or produced on demand by a BodySource (files),
// one chunk at a time as the client takes them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hyper/util/bytes.h"
#include "hyper/util/status.h"

namespace hyper::gateway {

// A body produced in chunks. Next runs on a thread that may block (reading a drive, waiting for
// a peer); the server asks for the next chunk only once the one before has been written to the
// client, so a slow client holds one chunk of memory and no thread.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next bytes (valid until the next call); empty once the body is complete. An error ends
  // the connection (the status line has gone out already).
  virtual Result<ByteView> Next() = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
  std::string body;                                          // when `stream` is null
  std::unique_ptr<BodySource> stream;  // produces exactly content_length bytes
  uint64_t content_length = 0;         // with `stream`; else body.size()
  // With `stream`: the length is not known before the end (a listing made as it is sent). The
  // body goes out with Transfer-Encoding: chunked to HTTP/1.1 clients, and until the connection
  // closes to HTTP/1.0 ones; content_length is ignored.
  bool unknown_length = false;
  bool head = false;  // a HEAD: the head alone goes out
  // Nonzero: the connection's kernel send buffer is held to about this many bytes from this
  // answer on (runtime::Socket::LimitSendBuffer), for a body fetched from peers as it is read:
  // otherwise the kernel's buffers let it run megabytes ahead of what the client took.
  size_t send_buffer = 0;

  void Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  uint64_t Length() const { return stream ? content_length : body.size(); }
};

// "Not Found" for 404.
std::string_view ReasonPhrase(int status);

// A small text/plain answer: "404 Not Found\n<why>\n".
HttpResponse TextResponse(int status, std::string_view why);

// The status line and headers, with Content-Length (Transfer-Encoding: chunked when `chunked`;
// neither for a body of unknown length sent until the connection closes) and Connection.
std::string SerializeHead(const HttpResponse& r, bool keep_alive, bool chunked = false);

}  // namespace hyper::gateway
