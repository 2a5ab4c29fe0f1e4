// Request targets to drive paths: split on '/', each segment percent-decoded and checked.
#include "hyper/gateway/request_path.h"

#include <vector>

#include "hyper/util/bytes.h"

namespace hyper::gateway {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether `s` is valid UTF-8 without overlong encodings, surrogates or code points past U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    const uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

Result<std::string> DecodeSegment(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) {
        return Status::InvalidArgument("a '%' not followed by two hex digits");
      }
      int hi = HexValue(raw[i + 1]);
      int lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("a '%' not followed by two hex digits");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Status::InvalidArgument("a NUL or control byte in the path");
    if (c == '/' || c == '\\') return Status::InvalidArgument("an encoded '/' or '\\' in the path");
    out.push_back(c);
  }
  if (out == "." || out == "..") return Status::InvalidArgument("'.' and '..' are not allowed");
  if (!ValidUtf8(out)) return Status::InvalidArgument("the path is not valid UTF-8");
  return out;
}

}  // namespace

Result<RequestPath> ParseRequestPath(std::string_view target) {
  if (target.size() > kMaxTargetBytes) {
    return Status::InvalidArgument("the target is longer than " + std::to_string(kMaxTargetBytes) +
                                   " bytes");
  }
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("the target must be an absolute path");
  }
  // The query and fragment play no part.
  size_t q = target.find_first_of("?#");
  if (q != std::string_view::npos) target = target.substr(0, q);
  RequestPath out;
  std::vector<std::string_view> raw;
  {
    std::string_view rest = target.substr(1);
    while (true) {
      size_t slash = rest.find('/');
      raw.push_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
  }
  out.trailing_slash = target.size() > 1 && target.back() == '/';
  size_t at = 0;
  if (!raw.empty() && raw[0] == "hyper") {
    out.prefix = "/hyper";
    ++at;
    if (at >= raw.size() || raw[at].empty()) {
      return Status::InvalidArgument("/hyper/ must be followed by a drive key");
    }
  }
  if (at >= raw.size() || raw[at].empty()) {
    if (raw.size() > 1) return Status::InvalidArgument("the target must start with a drive key");
    return out;  // "/"
  }
  std::string_view first = raw[at];
  out.prefix += "/" + std::string(first);
  ++at;
  size_t plus = first.find('+');
  std::string_view hex = first.substr(0, plus);
  if (hex.size() != 64) {
    return Status::InvalidArgument("'" + std::string(hex.substr(0, 80)) +
                                   "' is not a drive key (64 hex digits)");
  }
  auto key = FromHex(hex);
  if (!key.ok()) return Status::InvalidArgument("the drive key must be 64 hex digits");
  std::copy(key->begin(), key->end(), out.key.begin());
  out.has_key = true;
  if (plus != std::string_view::npos) {
    ASSIGN_OR_RETURN(std::string v, DecodeSegment(first.substr(plus + 1)));
    if (v.empty()) return Status::InvalidArgument("an empty version after '+'");
    out.version = std::move(v);
  }
  std::string path;
  for (; at < raw.size(); ++at) {
    if (raw[at].empty()) continue;  // "//" and the trailing '/'
    ASSIGN_OR_RETURN(std::string seg, DecodeSegment(raw[at]));
    path += "/" + seg;
  }
  out.path = path.empty() ? "/" : path;
  return out;
}

std::string PercentEncodePath(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace hyper::gateway
