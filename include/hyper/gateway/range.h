// The Range header of a GET (RFC 9110 section 14): one byte range is served (206); several
// ranges, other units or a malformed header are ignored (the whole file, 200), as the RFC allows;
// a range starting past the end is unsatisfiable (416).
#pragma once

#include <cstdint>
#include <string_view>

namespace hyper::gateway {

struct RangeRequest {
  enum class Kind { kNone, kSatisfiable, kUnsatisfiable };
  Kind kind = Kind::kNone;
  uint64_t start = 0;  // kSatisfiable: bytes [start, end) of the file, never empty
  uint64_t end = 0;
};

// `header` is the Range field's value; `size` the file's size.
RangeRequest ParseRange(std::string_view header, uint64_t size);

}  // namespace hyper::gateway
