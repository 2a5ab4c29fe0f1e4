#include "hyper/runtime/event_loop.h"

#include <pthread.h>

#include <asio/post.hpp>
#include <cstdio>
#include <cstdlib>

namespace hyper::runtime {

EventLoop::EventLoop(std::string name) : name_(std::move(name)) {}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Start() {
  MutexLock lock(&mu_);
  if (thread_) return;
  io_.restart();
  work_.emplace(io_.get_executor());
  std::promise<std::thread::id> started;
  auto fut = started.get_future();
  thread_.emplace([this, &started] {
    // Thread names are at most 15 characters.
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    started.set_value(std::this_thread::get_id());
    io_.run();
  });
  loop_id_.store(fut.get());
}

void EventLoop::Stop() {
  MutexLock lock(&mu_);
  if (!thread_) return;
  if (RunsOnLoop()) FailNotOnLoop(__FILE__, __LINE__, "EventLoop::Stop (called on the loop)");
  // What was posted before runs; then the loop ends and what still waits is dropped.
  std::promise<void> drained;
  asio::post(io_, [&] { drained.set_value(); });
  drained.get_future().wait();
  work_.reset();
  io_.stop();
  thread_->join();
  thread_.reset();
  loop_id_.store(std::thread::id());
}

void FailNotOnLoop(const char* file, int line, const char* function) {
  std::fprintf(stderr, "%s:%d: %s must run on the event loop\n", file, line, function);
  std::abort();
}

}  // namespace hyper::runtime
