#include "hyper/runtime/mutex.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace hyper::runtime {
namespace {

using namespace std::chrono_literals;

// A counter guarded by the annotated mutex; clang's -Wthread-safety checks the annotations.
class Counter {
 public:
  void Add() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    value_++;
    changed_.SignalAll();
  }
  void WaitFor(int n) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (value_ < n) changed_.Wait(&mu_);
  }
  bool WaitUntil(int n, std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (value_ < n) {
      if (!changed_.WaitUntil(&mu_, deadline)) return value_ >= n;
    }
    return true;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  int value_ GUARDED_BY(mu_) = 0;
};

TEST(Mutex, GuardsAndWakesWaiters) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) c.Add();
    });
  }
  c.WaitFor(4000);
  for (auto& t : threads) t.join();
  EXPECT_TRUE(c.WaitUntil(4000, std::chrono::steady_clock::now()));
}

TEST(Mutex, WaitUntilReturnsAtTheDeadline) {
  Counter c;
  EXPECT_FALSE(c.WaitUntil(1, std::chrono::steady_clock::now() + 10ms));
}

}  // namespace
}  // namespace hyper::runtime
