// One asio io_context run on one thread: the process's network thread. Every socket, protocol
// stream and timer of the process lives on it; code documented as "runs on the loop" checks it
// with HYPER_ASSERT_ON_LOOP. Nothing that can block (disk, waiting for the network) may run on
// it: blocking feed work goes to the runtime::Executor.
//
//   EventLoop& loop = runtime::Default().loop();   // the process's loop, already running
//   loop.Post([] { ... runs on the loop ... });
//   int n = loop.Call([&] { return count; });      // runs there, waits for the result
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "hyper/runtime/mutex.h"

namespace hyper::runtime {

class EventLoop {
 public:
  // `name` names the thread (top -H, perf, gdb).
  explicit EventLoop(std::string name = "hyper-loop");
  // Stops the loop (see Stop).
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the thread; a no-op if it runs.
  void Start() EXCLUDES(mu_);
  // Runs what was posted before, then ends the thread; handlers that are still waiting (on
  // sockets, timers) are dropped without running. A no-op when stopped. Not on the loop.
  void Stop() EXCLUDES(mu_);

  // Runs `fn` on the loop, later (never inline), in the order posted.
  void Post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

  // Runs `fn` on the loop and returns its result: inline when called on the loop, otherwise
  // posted and waited for. Never from a thread the loop waits for.
  template <typename F>
  auto Call(F&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    if (RunsOnLoop()) return fn();
    std::promise<R> p;
    auto fut = p.get_future();
    asio::post(io_, [&] {
      if constexpr (std::is_void_v<R>) {
        fn();
        p.set_value();
      } else {
        p.set_value(fn());
      }
    });
    return fut.get();
  }

  // True on the loop's thread.
  bool RunsOnLoop() const { return std::this_thread::get_id() == loop_id_.load(); }
  bool running() const { return loop_id_.load() != std::thread::id(); }

  // For asio objects (sockets, timers) that live on this loop.
  asio::io_context& context() { return io_; }

 private:
  const std::string name_;
  asio::io_context io_;
  Mutex mu_;  // serialises Start and Stop
  std::optional<std::thread> thread_ GUARDED_BY(mu_);
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_ GUARDED_BY(mu_);
  std::atomic<std::thread::id> loop_id_{};
};

// Called by HYPER_ASSERT_ON_LOOP when it fails: says where and aborts.
[[noreturn]] void FailNotOnLoop(const char* file, int line, const char* function);

}  // namespace hyper::runtime

// Checks, in every build, that the caller runs on `loop` (an EventLoop&); aborts otherwise.
#define HYPER_ASSERT_ON_LOOP(loop)                                   \
  do {                                                               \
    if (!(loop).RunsOnLoop()) {                                      \
      ::hyper::runtime::FailNotOnLoop(__FILE__, __LINE__, __func__); \
    }                                                                \
  } while (false)
