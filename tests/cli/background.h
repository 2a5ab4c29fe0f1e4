// A `hyperdrive` (or Node) process running in the background of a CLI test, and a `seed` of a
// store started with it. Shared by the tests that need a peer or a process to kill.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/local_tree.h"

extern char** environ;

namespace hyper::cli {

// A process running in the background, its stdout and stderr going to files. Killed (TERM,
// then KILL) when the object dies.
class Background {
 public:
  using Clock = std::chrono::steady_clock;

  Background(std::vector<std::string> argv, const std::string& out, const std::string& err)
      : out_(out), err_(err) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "spawning " << argv[0];
    if (rc != 0) pid_ = -1;
  }
  ~Background() {
    if (pid_ > 0) Stop(SIGTERM);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const { return ReadAll(out_); }
  std::string err() const { return ReadAll(err_); }

  // Waits until stdout holds `text`; false after `limit` or when the process died.
  bool WaitFor(const std::string& text,
               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return WaitForIn(out_, text, limit);
  }
  // The same for stderr.
  bool WaitForErr(const std::string& text,
                  std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return WaitForIn(err_, text, limit);
  }

  // Sends `sig` and returns the exit status (128 + signal when killed by one); KILL after 5 s.
  int Stop(int sig) {
    if (pid_ <= 0) return status_;
    if (!Exited()) kill(pid_, sig);
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!Exited() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!Exited()) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
      Record(st);
    }
    pid_ = -1;
    return status_;
  }

 private:
  bool WaitForIn(const std::string& file, const std::string& text,
                 std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (ReadAll(file).find(text) != std::string::npos) return true;
      if (Exited()) return ReadAll(file).find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  bool Exited() {
    if (done_) return true;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) Record(st);
    return done_;
  }
  void Record(int st) {
    done_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = -1;
  std::string out_, err_;
};

// `hyperdrive seed url --listen 127.0.0.1:0` from `store`, its output in `dir`; `*addr` is set to
// the peer address it listens on.
inline std::unique_ptr<Background> StartSeed(const std::string& store, const std::string& url,
                                             const std::string& dir, std::string* addr) {
  auto seed =
      std::make_unique<Background>(std::vector<std::string>{HYPERDRIVE_BINARY, "--storage", store,
                                                            "seed", url, "--listen", "127.0.0.1:0"},
                                   dir + "/seed.out", dir + "/seed.err");
  EXPECT_TRUE(seed->WaitFor("listening on 127.0.0.1:")) << seed->err();
  std::string out = seed->out();
  EXPECT_EQ(out.rfind(url + "\n", 0), 0u) << out;
  size_t at = out.find("listening on ");
  *addr = "127.0.0.1:1";
  if (at == std::string::npos) return seed;
  *addr = out.substr(at + 13);
  *addr = addr->substr(0, addr->find('\n'));
  EXPECT_NE(*addr, "127.0.0.1:0") << "the real port is printed";
  return seed;
}

}  // namespace hyper::cli
