// How the benchmark programs stop at the first failure: with its message on stderr and exit
// status 1, since a figure measured past an error is no use.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "hyper/util/status.h"

namespace hyper::bench {

template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

inline void Check(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

}  // namespace hyper::bench
