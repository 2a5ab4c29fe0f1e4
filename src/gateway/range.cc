// Parsing "bytes=A-B", "bytes=A-" and "bytes=-N" against a file's size.
#include "hyper/gateway/range.h"

#include <optional>

namespace hyper::gateway {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A non-empty decimal number that fits in 64 bits.
std::optional<uint64_t> Number(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

}  // namespace

RangeRequest ParseRange(std::string_view header, uint64_t size) {
  RangeRequest none;
  header = Trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size()) return none;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kUnit[i]) return none;
  }
  std::string_view spec = Trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return none;  // several ranges: the whole file
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return none;
  std::string_view first = Trim(spec.substr(0, dash));
  std::string_view last = Trim(spec.substr(dash + 1));
  RangeRequest out;
  if (first.empty()) {
    // A suffix: the last N bytes.
    auto n = Number(last);
    if (!n) return none;
    if (*n == 0 || size == 0) {
      out.kind = RangeRequest::Kind::kUnsatisfiable;
      return out;
    }
    out.kind = RangeRequest::Kind::kSatisfiable;
    out.start = *n >= size ? 0 : size - *n;
    out.end = size;
    return out;
  }
  auto a = Number(first);
  if (!a) return none;
  std::optional<uint64_t> b;
  if (!last.empty()) {
    b = Number(last);
    if (!b || *b < *a) return none;  // invalid: ignored
  }
  if (*a >= size) {
    out.kind = RangeRequest::Kind::kUnsatisfiable;
    return out;
  }
  out.kind = RangeRequest::Kind::kSatisfiable;
  out.start = *a;
  out.end = b && *b < size - 1 ? *b + 1 : size;
  return out;
}

}  // namespace hyper::gateway
