// What a gateway request target names: `/<key>[+version|+tag]/path` or
// `/hyper/<key>[+version|+tag]/path`, percent-decoded. Every hostile path is refused
// (InvalidArgument, answered 400) rather than cleaned up: a `.` or `..` segment (encoded or
// not), an encoded '/' or '\', a NUL or control byte, invalid or overlong UTF-8, a target longer
// than kMaxTargetBytes. What is accepted is a drive path that cannot leave the drive.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "hyper/crypto/crypto.h"
#include "hyper/util/status.h"

namespace hyper::gateway {

constexpr size_t kMaxTargetBytes = 4096;

struct RequestPath {
  bool has_key = false;                // false for "/" (the gateway's own page)
  crypto::PublicKey key{};             // has_key
  std::optional<std::string> version;  // a number or a tag, as written after '+' (decoded)
  std::string path = "/";              // decoded, normalised: "/" or "/a/b", never ".." or "//"
  bool trailing_slash = false;         // the target's path ended with '/'
  std::string prefix;                  // "/<key>[+v]" or "/hyper/<key>[+v]", as sent (for links)
};

Result<RequestPath> ParseRequestPath(std::string_view target);

// `path` ("/a b/c") percent-encoded for a URL: every byte but unreserved characters and '/'.
std::string PercentEncodePath(std::string_view path);

}  // namespace hyper::gateway
