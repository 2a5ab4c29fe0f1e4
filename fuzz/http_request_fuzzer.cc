// Fuzzes the gateway's parsers of what clients send: the request head (a head that parses must
// have consumed no more than it was given, and parse the same from exactly those bytes), the
// target of a parsed request (an accepted path never holds '.', '..', '//', NUL or a control
// byte) and its Range header against a size taken from the input (a satisfiable range lies
// inside the file and is not empty).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hyper/gateway/http_request.h"
#include "hyper/gateway/range.h"
#include "hyper/gateway/request_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hyper::gateway;
  if (size < 1) return 0;
  const uint64_t file_size = data[0] * 977ULL;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestLimits limits;
  limits.max_request_line = 256;
  limits.max_headers = 8;
  limits.max_header_bytes = 512;
  ParseResult r = ParseRequest(in, limits);
  if (r.state == ParseState::kError && (r.status < 400 || r.status > 505)) std::abort();
  if (r.state != ParseState::kDone) return 0;
  if (r.consumed == 0 || r.consumed > in.size()) std::abort();
  ParseResult again = ParseRequest(in.substr(0, r.consumed), limits);
  if (again.state != ParseState::kDone || again.consumed != r.consumed) std::abort();
  if (r.request.headers.size() > limits.max_headers) std::abort();
  auto path = ParseRequestPath(r.request.target);
  if (path.ok()) {
    const std::string& p = path->path;
    if (p.empty() || p.front() != '/') std::abort();
    if (p.find("//") != std::string::npos || p.find("/./") != std::string::npos ||
        p.find("/../") != std::string::npos) {
      std::abort();
    }
    const std::string_view tail = std::string_view(p).substr(p.rfind('/'));
    if (tail == "/." || tail == "/..") std::abort();
    for (char c : p) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '\\') std::abort();
    }
  }
  if (const std::string* range = r.request.Header("range")) {
    RangeRequest rr = ParseRange(*range, file_size);
    if (rr.kind == RangeRequest::Kind::kSatisfiable && (rr.start >= rr.end || rr.end > file_size)) {
      std::abort();
    }
  }
  return 0;
}
