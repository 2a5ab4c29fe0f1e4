// The HTTP/1.1 request head parser (RFC 9112, sections 3 and 5), with hard limits.
#include "hyper/gateway/http_request.h"

#include <algorithm>

namespace hyper::gateway {

namespace {

// RFC 9110 token characters (method and field names).
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsLower(std::string_view value, std::string_view lower) {
  if (value.size() != lower.size()) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    if (Lower(value[i]) != lower[i]) return false;
  }
  return true;
}

// Whether the comma-separated list `value` holds `lower` (case-insensitive).
bool ListHas(std::string_view value, std::string_view lower) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (EqualsLower(Trim(value.substr(0, comma)), lower)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

ParseResult Error(int status, std::string why) {
  ParseResult r;
  r.state = ParseState::kError;
  r.status = status;
  r.why = std::move(why);
  return r;
}

// Finds the end of the line starting at `from`: the index of its '\n', or npos.
size_t LineEnd(std::string_view buffer, size_t from, size_t limit) {
  size_t stop = std::min(buffer.size(), from + limit + 2);
  for (size_t i = from; i < stop; ++i) {
    if (buffer[i] == '\n') return i;
  }
  return std::string_view::npos;
}

std::string_view LineAt(std::string_view buffer, size_t from, size_t newline) {
  std::string_view line = buffer.substr(from, newline - from);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

bool HttpRequest::KeepAlive() const {
  const std::string* c = Header("connection");
  if (minor_version == 0) return c != nullptr && ListHas(*c, "keep-alive");
  return c == nullptr || !ListHas(*c, "close");
}

ParseResult ParseRequest(std::string_view buffer, const RequestLimits& limits) {
  ParseResult r;
  // Empty lines before the request line are ignored (RFC 9112 section 2.2).
  size_t pos = 0;
  while (pos < buffer.size() && (buffer[pos] == '\r' || buffer[pos] == '\n')) {
    if (pos >= 4) return Error(400, "empty lines before the request");
    ++pos;
  }
  size_t nl = LineEnd(buffer, pos, limits.max_request_line);
  if (nl == std::string_view::npos) {
    if (buffer.size() - pos > limits.max_request_line + 1) {
      return Error(414, "the request line is longer than " +
                            std::to_string(limits.max_request_line) + " bytes");
    }
    return r;
  }
  std::string_view line = LineAt(buffer, pos, nl);
  if (line.size() > limits.max_request_line) {
    return Error(414, "the request line is longer than " + std::to_string(limits.max_request_line) +
                          " bytes");
  }
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error(400, "the request line is not METHOD TARGET HTTP/1.x");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return Error(400, "bad method");
  }
  if (target.empty()) return Error(400, "empty request target");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Error(400, "a control or non-ASCII byte in the target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Error(400, "bad HTTP version");
  }
  if (version[5] != '1') return Error(505, "only HTTP/1.x is spoken here");
  r.request.method = std::string(method);
  r.request.target = std::string(target);
  r.request.minor_version = version[7] - '0';

  // Header fields, up to the empty line.
  pos = nl + 1;
  const size_t headers_start = pos;
  while (true) {
    const size_t used = pos - headers_start;
    if (used > limits.max_header_bytes) {
      return Error(
          431, "the headers are larger than " + std::to_string(limits.max_header_bytes) + " bytes");
    }
    size_t end = LineEnd(buffer, pos, limits.max_header_bytes - used);
    if (end == std::string_view::npos) {
      if (buffer.size() - pos > limits.max_header_bytes - used + 1) {
        return Error(431, "the headers are larger than " + std::to_string(limits.max_header_bytes) +
                              " bytes");
      }
      return ParseResult{};
    }
    std::string_view field = LineAt(buffer, pos, end);
    pos = end + 1;
    if (field.empty()) break;
    if (pos - headers_start > limits.max_header_bytes) {
      return Error(
          431, "the headers are larger than " + std::to_string(limits.max_header_bytes) + " bytes");
    }
    if (field.front() == ' ' || field.front() == '\t') {
      return Error(400, "obsolete line folding in the headers");
    }
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return Error(400, "a header without a name");
    std::string_view name = field.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Error(400, "bad header name");
    }
    std::string_view value = Trim(field.substr(colon + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Error(400, "a control byte in a header");
    }
    if (r.request.headers.size() >= limits.max_headers) {
      return Error(431, "more than " + std::to_string(limits.max_headers) + " headers");
    }
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), Lower);
    r.request.headers.emplace_back(std::move(lower), std::string(value));
  }
  if (r.request.minor_version == 1 && r.request.Header("host") == nullptr) {
    return Error(400, "an HTTP/1.1 request without Host");
  }
  if (r.request.Header("transfer-encoding") != nullptr) {
    return Error(501, "request bodies are not accepted here");
  }
  if (const std::string* length = r.request.Header("content-length")) {
    if (*length != "0") return Error(501, "request bodies are not accepted here");
  }
  r.state = ParseState::kDone;
  r.consumed = pos;
  return r;
}

}  // namespace hyper::gateway
