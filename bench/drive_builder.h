// What the drive benchmarks share: filling a drive with many small files through the batched
// writer (the quickest way to a drive of 100,000 or 10,000,000 files).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "hyper/drive/drive.h"

namespace hyper::bench {

// Writes files 0..files-1 into `drive`, 1,000 a batch (two signatures each): file i at
// path(i) with the bytes body(i).
template <typename PathFn, typename BodyFn>
Status WriteManyFiles(drive::Drive& drive, uint64_t files, PathFn path, BodyFn body) {
  std::vector<std::string> names;
  std::vector<Bytes> bodies;
  std::vector<drive::Drive::FileToWrite> batch;
  for (uint64_t i = 0; i < files; i += 1000) {
    names.clear();
    bodies.clear();
    batch.clear();
    for (uint64_t j = i; j < std::min(files, i + 1000); j++) {
      names.push_back(path(j));
      bodies.push_back(body(j));
    }
    for (size_t k = 0; k < names.size(); k++) batch.push_back({names[k], bodies[k], {}});
    auto written = drive.WriteFiles(batch);
    if (!written.ok()) return written.status();
  }
  return Status::Ok();
}

}  // namespace hyper::bench
