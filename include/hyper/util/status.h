// Status and Result<T>: the one error type of every library layer. Nothing below the edges throws.
#pragma once

#include <cassert>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace hyper {

// Codes map onto errno (FUSE, CLI) and onto gRPC codes (daemon); see ToErrno().
enum class Code : int {
  kOk = 0,
  kNotFound,        // ENOENT
  kExists,          // EEXIST
  kNotADirectory,   // ENOTDIR
  kIsADirectory,    // EISDIR
  kNotEmpty,        // ENOTEMPTY
  kInvalidArgument, // EINVAL
  kNotWritable,     // EROFS / EPERM: read-only drive or feed without a secret key
  kCorruption,      // EIO: bytes on disk or wire that do not decode or do not verify
  kInvalidSignature,// EBADMSG: a signature that does not verify against the key
  kIOError,         // EIO: the OS said no
  kNoSpace,         // ENOSPC
  kTimeout,         // ETIMEDOUT
  kCancelled,       // ECANCELED
  kOutOfRange,      // ERANGE / reads past the end
  kLoop,            // ELOOP: symlink or mount cycles
  kBusy,            // EBUSY / EWOULDBLOCK: lock held by someone else
  kUnsupported,     // ENOTSUP
  kPermissionDenied,// EACCES
  kInternal,        // a broken invariant
};

std::string_view CodeName(Code code);
int ToErrno(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Exists(std::string m) { return {Code::kExists, std::move(m)}; }
  static Status NotADirectory(std::string m) { return {Code::kNotADirectory, std::move(m)}; }
  static Status IsADirectory(std::string m) { return {Code::kIsADirectory, std::move(m)}; }
  static Status NotEmpty(std::string m) { return {Code::kNotEmpty, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotWritable(std::string m) { return {Code::kNotWritable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status InvalidSignature(std::string m) { return {Code::kInvalidSignature, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status Loop(std::string m) { return {Code::kLoop, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  // An IOError or NoSpace from an errno value, with `what` naming the operation and file.
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: /a/b does not exist"
  std::string ToString() const;
  // Prefixes the message with context: "reading tree: <message>". No-op on Ok.
  Status Annotate(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a T or a non-Ok Status. Works with g++ 12 and clang 14 (no std::expected).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : status_(), has_value_(true) { new (&storage_) T(value); }
  Result(T&& value) : status_(), has_value_(true) { new (&storage_) T(std::move(value)); }
  // REQUIRES: !status.ok()
  Result(Status status) : status_(std::move(status)), has_value_(false) {
    assert(!status_.ok());
    if (status_.ok()) status_ = Status::Internal("Result built from an Ok status");
  }
  Result(const Result& o) : status_(o.status_), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(*o.ptr());
  }
  Result(Result&& o) noexcept : status_(std::move(o.status_)), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(std::move(*o.ptr()));
  }
  Result& operator=(Result o) {
    Destroy();
    status_ = std::move(o.status_);
    has_value_ = o.has_value_;
    if (has_value_) new (&storage_) T(std::move(*o.ptr()));
    return *this;
  }
  ~Result() { Destroy(); }

  bool ok() const { return has_value_; }
  explicit operator bool() const { return has_value_; }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & { assert(has_value_); return *ptr(); }
  const T& value() const& { assert(has_value_); return *ptr(); }
  T&& value() && { assert(has_value_); return std::move(*ptr()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  T* ptr() { return std::launder(reinterpret_cast<T*>(&storage_)); }
  const T* ptr() const { return std::launder(reinterpret_cast<const T*>(&storage_)); }
  void Destroy() {
    if (has_value_) ptr()->~T();
    has_value_ = false;
  }
  Status status_;
  bool has_value_;
  alignas(T) unsigned char storage_[sizeof(T)];  // NOLINT(bugprone-sizeof-expression): T may be a pointer
};

}  // namespace hyper

#define HYPER_CONCAT_INNER(a, b) a##b
#define HYPER_CONCAT(a, b) HYPER_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not Ok.
#define RETURN_IF_ERROR(expr)                       \
  do {                                              \
    ::hyper::Status _st = (expr);                   \
    if (!_st.ok()) return _st;                      \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` — x is the value, or the function returns the Status.
#define ASSIGN_OR_RETURN(lhs, expr)                                      \
  auto HYPER_CONCAT(_res_, __LINE__) = (expr);                           \
  if (!HYPER_CONCAT(_res_, __LINE__).ok())                               \
    return HYPER_CONCAT(_res_, __LINE__).status();                       \
  lhs = std::move(HYPER_CONCAT(_res_, __LINE__)).value()  // NOLINT(bugprone-macro-parentheses)
