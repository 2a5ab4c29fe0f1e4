// hyper::gateway — parsing an HTTP/1.1 request head (request line and headers) from the bytes a
// client sent, with hard limits on each part, so that a hostile client costs a bounded amount of
// memory. The gateway takes no request bodies: a request announcing one is refused.
//
//   auto r = gateway::ParseRequest(buffer, {});
//   if (r.state == ParseState::kDone) { use(r.request); buffer.erase(0, r.consumed); }
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hyper::gateway {

struct RequestLimits {
  size_t max_request_line = 8192;   // method, target and version (414 beyond)
  size_t max_headers = 100;         // header fields (431 beyond)
  size_t max_header_bytes = 16384;  // all header lines together (431 beyond)
};

struct HttpRequest {
  std::string method;     // as sent: "GET", "HEAD", ...
  std::string target;     // the request target, undecoded: "/key/a%20b?x"
  int minor_version = 1;  // HTTP/1.<minor>
  // Field names in lower case, values without surrounding whitespace, in the order sent.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of the field `lower_name`, or null.
  const std::string* Header(std::string_view lower_name) const;
  // Whether the connection stays open after the answer: HTTP/1.1 unless "Connection: close",
  // HTTP/1.0 only with "Connection: keep-alive".
  bool KeepAlive() const;
};

enum class ParseState { kIncomplete, kDone, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  size_t consumed = 0;  // kDone: the bytes of the head (the next request starts there)
  int status = 0;       // kError: the status to answer (400, 414, 431, 501, 505)
  std::string why;      // kError: what is wrong, for the answer's body
  HttpRequest request;  // kDone
};

// Parses the request head at the start of `buffer`. kIncomplete while the head has not ended
// and the limits are not exceeded (read more); kError as soon as something is wrong or too big.
// Lines end with CRLF (a bare LF is accepted too).
ParseResult ParseRequest(std::string_view buffer, const RequestLimits& limits = {});

}  // namespace hyper::gateway
