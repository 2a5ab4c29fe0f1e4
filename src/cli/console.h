// Where a command's input and output go: this process's stdin, stdout and stderr, or, for a
// command the daemon runs for a client (forward.h), descriptors that lead to that client. The
// commands write through Out() and Err() and ask Current() whether the output is a terminal,
// never fd 1 or 2 themselves, so that the same code runs in either place.
#pragma once

#include <atomic>
#include <memory>
#include <ostream>
#include <string>

namespace hyper::cli {

// The descriptors and what the client said about its terminal. `cwd` is the client's working
// directory (relative paths are resolved against it; empty: this process's own).
struct ConsoleSpec {
  int in = 0, out = 1, err = 2;
  bool in_tty = false, out_tty = false, err_tty = false;
  std::string cwd;
  // Set when the client went away (Ctrl-C): the command stops at its next check.
  const std::atomic<bool>* cancelled = nullptr;
  // Set when the client asked a command that runs until stopped to stop (its Ctrl-C).
  const std::atomic<bool>* interrupted = nullptr;
  // Readable once `cancelled` or `interrupted` is set (-1: none, this process's own console).
  int stop_fd = -1;
};

class Console {
 public:
  // The console of the calling thread: the one a ScopedConsole installed, else this process's.
  static Console& Current();

  std::ostream& out() { return *out_; }
  std::ostream& err() { return *err_; }
  int in_fd() const { return spec_.in; }
  int out_fd() const { return spec_.out; }
  bool in_tty() const { return spec_.in_tty; }
  bool out_tty() const { return spec_.out_tty; }
  bool err_tty() const { return spec_.err_tty; }
  // `path` as this process must open it: made absolute against the client's working directory.
  std::string Path(const std::string& path) const;
  bool cancelled() const { return spec_.cancelled != nullptr && spec_.cancelled->load(); }
  bool interrupted() const { return spec_.interrupted != nullptr && spec_.interrupted->load(); }
  // See ConsoleSpec::stop_fd.
  int stop_fd() const { return spec_.stop_fd; }

  // Flushes out(); false when something written to it was lost.
  bool FlushOut();

  explicit Console(ConsoleSpec spec);  // over the descriptors of `spec` (not closed here)
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

 private:
  Console();  // this process's stdio
  struct Buffers;
  ConsoleSpec spec_;
  std::unique_ptr<Buffers> buffers_;
  std::ostream* out_;
  std::ostream* err_;
};

// Makes `console` the calling thread's console while it lives.
class ScopedConsole {
 public:
  explicit ScopedConsole(Console& console);
  ~ScopedConsole();
  ScopedConsole(const ScopedConsole&) = delete;
  ScopedConsole& operator=(const ScopedConsole&) = delete;

 private:
  Console* previous_;
};

// Shorthands for Console::Current().out() / err().
inline std::ostream& Out() { return Console::Current().out(); }
inline std::ostream& Err() { return Console::Current().err(); }
// printf into Out() / Err().
void OutPrintf(const char* format, ...) __attribute__((format(printf, 1, 2)));
void ErrPrintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace hyper::cli
