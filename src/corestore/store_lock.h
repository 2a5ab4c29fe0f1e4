// How processes share a store directory on disk (docs/formats/corestore.md, "Sharing a store"):
//
//   flock on <dir> itself   shared: readers, and a writer that lets readers in (a seed);
//                           exclusive: a writer that does not (every other command that writes)
//   flock on <dir>/LOCK     exclusive: whoever writes, one at a time; the file says who
//                           ("<pid> <what>\n"), so that a refused command can name it
//
// A reader never writes, so it cannot leave its name anywhere: a writer refused because of
// readers says only that the store is being read.
#pragma once

#include <memory>
#include <string>

#include "hyper/corestore/corestore.h"

namespace hyper::corestore {

class StoreLock {
 public:
  // Takes the locks `access` needs without waiting: Busy, naming the holder, when another
  // process holds what conflicts; NotFound when a reader finds no directory.
  static Result<std::unique_ptr<StoreLock>> Acquire(const std::string& dir, Access access,
                                                    const std::string& holder);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  StoreLock() = default;
  int dir_fd_ = -1;
  int writer_fd_ = -1;
};

}  // namespace hyper::corestore
