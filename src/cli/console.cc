#include "console.h"

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <streambuf>
#include <vector>

namespace hyper::cli {

namespace {

thread_local Console* current = nullptr;

// An output stream buffer over a descriptor: buffered (out) or not (err). A write that fails
// makes the stream fail, as std::cout does on a closed stdout.
class FdBuffer : public std::streambuf {
 public:
  FdBuffer(int fd, size_t size) : fd_(fd), buffer_(size) {
    if (size > 0) setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  ~FdBuffer() override { (void)Drain(); }
  FdBuffer(const FdBuffer&) = delete;
  FdBuffer& operator=(const FdBuffer&) = delete;

 protected:
  int_type overflow(int_type c) override {
    if (!Drain()) return traits_type::eof();
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    if (buffer_.empty()) return WriteAll(&ch, 1) ? c : traits_type::eof();
    *pptr() = ch;
    pbump(1);
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (!buffer_.empty() && n <= epptr() - pptr()) {
      std::copy(s, s + n, pptr());
      pbump(static_cast<int>(n));
      return n;
    }
    if (!Drain()) return 0;
    return WriteAll(s, static_cast<size_t>(n)) ? n : 0;
  }
  int sync() override { return Drain() ? 0 : -1; }

 private:
  bool Drain() {
    if (buffer_.empty()) return true;
    const size_t n = static_cast<size_t>(pptr() - pbase());
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return n == 0 || WriteAll(buffer_.data(), n);
  }
  bool WriteAll(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  int fd_;
  std::vector<char> buffer_;
};

void VPrintf(std::ostream& out, const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n <= 0) return;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  text.pop_back();
  out << text;
}

}  // namespace

struct Console::Buffers {
  Buffers(int out_fd, int err_fd) : out_buf(out_fd, 64 << 10), err_buf(err_fd, 0) {}
  FdBuffer out_buf;
  FdBuffer err_buf;
  std::ostream out{&out_buf};
  std::ostream err{&err_buf};
};

Console::Console()
    : spec_{.in = STDIN_FILENO,
            .out = STDOUT_FILENO,
            .err = STDERR_FILENO,
            .in_tty = ::isatty(STDIN_FILENO) == 1,
            .out_tty = ::isatty(STDOUT_FILENO) == 1,
            .err_tty = ::isatty(STDERR_FILENO) == 1},
      out_(&std::cout),
      err_(&std::cerr) {}

Console::Console(ConsoleSpec spec)
    : spec_(std::move(spec)),
      buffers_(std::make_unique<Buffers>(spec_.out, spec_.err)),
      out_(&buffers_->out),
      err_(&buffers_->err) {}

Console::~Console() {
  if (buffers_) out_->flush();
}

Console& Console::Current() {
  if (current != nullptr) return *current;
  static Console process;
  return process;
}

std::string Console::Path(const std::string& path) const {
  if (spec_.cwd.empty() || path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(spec_.cwd) / path).lexically_normal().string();
}

bool Console::FlushOut() {
  out_->flush();
  if (!buffers_) {
    // std::cout writes through stdout (synced with stdio): main checks that stream.
    return std::fflush(stdout) == 0 && std::ferror(stdout) == 0 && !out_->fail();
  }
  return !out_->fail();
}

ScopedConsole::ScopedConsole(Console& console) : previous_(current) { current = &console; }
ScopedConsole::~ScopedConsole() { current = previous_; }

void OutPrintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VPrintf(Out(), format, args);
  va_end(args);
}

void ErrPrintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VPrintf(Err(), format, args);
  va_end(args);
}

}  // namespace hyper::cli
