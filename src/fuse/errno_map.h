// How a drive's Status becomes the errno a POSIX program expects from a FUSE call. The
// drive's codes mostly map one to one (util's ToErrno); a few depend on the call: a rename
// across drives is EXDEV (so `mv` copies), a read that cannot get its bytes (a block no peer
// sent in time, one not downloaded here) is EIO, never ENOENT or EBADF on a file that exists.
#pragma once

#include "hyper/util/status.h"

namespace hyper::fuse {

enum class Call {
  kOther,
  kRead,    // read: the file exists; what fails is getting its bytes
  kRename,  // rename: Unsupported means across drives
};

// The positive errno for `status` (0 for Ok) from `call`.
int ErrnoOf(const Status& status, Call call = Call::kOther);

}  // namespace hyper::fuse
