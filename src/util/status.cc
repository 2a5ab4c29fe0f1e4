#include "hyper/util/status.h"

#include <cerrno>
#include <cstring>

namespace hyper {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kExists: return "Exists";
    case Code::kNotADirectory: return "NotADirectory";
    case Code::kIsADirectory: return "IsADirectory";
    case Code::kNotEmpty: return "NotEmpty";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotWritable: return "NotWritable";
    case Code::kCorruption: return "Corruption";
    case Code::kInvalidSignature: return "InvalidSignature";
    case Code::kIOError: return "IOError";
    case Code::kNoSpace: return "NoSpace";
    case Code::kTimeout: return "Timeout";
    case Code::kCancelled: return "Cancelled";
    case Code::kOutOfRange: return "OutOfRange";
    case Code::kLoop: return "Loop";
    case Code::kBusy: return "Busy";
    case Code::kUnsupported: return "Unsupported";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

int ToErrno(Code code) {
  switch (code) {
    case Code::kOk: return 0;
    case Code::kNotFound: return ENOENT;
    case Code::kExists: return EEXIST;
    case Code::kNotADirectory: return ENOTDIR;
    case Code::kIsADirectory: return EISDIR;
    case Code::kNotEmpty: return ENOTEMPTY;
    case Code::kInvalidArgument: return EINVAL;
    case Code::kNotWritable: return EROFS;
    case Code::kCorruption: return EIO;
    case Code::kInvalidSignature: return EBADMSG;
    case Code::kIOError: return EIO;
    case Code::kNoSpace: return ENOSPC;
    case Code::kTimeout: return ETIMEDOUT;
    case Code::kCancelled: return ECANCELED;
    case Code::kOutOfRange: return ERANGE;
    case Code::kLoop: return ELOOP;
    case Code::kBusy: return EBUSY;
    case Code::kUnsupported: return ENOTSUP;
    case Code::kPermissionDenied: return EACCES;
    case Code::kInternal: return EIO;
  }
  return EIO;
}

Status Status::FromErrno(int err, std::string_view what) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT: return NoSpace(std::move(msg));
    case ENOENT: return NotFound(std::move(msg));
    case EEXIST: return Exists(std::move(msg));
    case EACCES:
    case EPERM: return PermissionDenied(std::move(msg));
    case EROFS: return NotWritable(std::move(msg));
    case EWOULDBLOCK: return Busy(std::move(msg));
    case ENOTDIR: return NotADirectory(std::move(msg));
    case EISDIR: return IsADirectory(std::move(msg));
    default: return IOError(std::move(msg));
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

}  // namespace hyper
