#include "errno_map.h"

#include <cerrno>

namespace hyper::fuse {

int ErrnoOf(const Status& status, Call call) {
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return call == Call::kRead ? EIO : ENOENT;
    case Code::kUnsupported:
      return call == Call::kRename ? EXDEV : ENOTSUP;
    case Code::kTimeout:
    case Code::kCancelled:
    case Code::kInvalidSignature:
    case Code::kOutOfRange:
      // What a program can do about these is what it does about a disk that failed.
      return EIO;
    default:
      return ToErrno(status.code());
  }
}

}  // namespace hyper::fuse
