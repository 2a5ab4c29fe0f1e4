#include "hyper/runtime/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace hyper::runtime {
namespace {

using namespace std::chrono_literals;

// A one-shot gate that jobs wait on (bounded, so that a bug fails the test instead of hanging).
struct Gate {
  std::promise<void> p;
  std::shared_future<void> f = p.get_future().share();
  void Open() { p.set_value(); }
  bool Wait() const { return f.wait_for(30s) == std::future_status::ready; }
};

const int kFeedA = 0;
const int kFeedB = 1;

TEST(Executor, JobsOfOneKeyRunInOrderOneAtATime) {
  Executor ex({.threads = 4});
  std::mutex mu;
  std::vector<int> seen;
  std::atomic<int> running{0};
  std::atomic<int> overlap{0};
  for (int i = 0; i < 500; ++i) {
    ex.Post(&kFeedA, [&, i] {
      if (running.fetch_add(1) != 0) overlap++;
      {
        std::lock_guard g(mu);
        seen.push_back(i);
      }
      running.fetch_sub(1);
    });
  }
  ex.WaitIdle(&kFeedA);
  EXPECT_EQ(overlap.load(), 0);
  ASSERT_EQ(seen.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen[i], i);
}

TEST(Executor, DifferentKeysRunInParallel) {
  Executor ex({.threads = 2});
  // Each job waits until the other has started: they finish only if they run at once.
  Gate a_started;
  Gate b_started;
  std::promise<bool> a_saw_b;
  std::promise<bool> b_saw_a;
  ex.Post(&kFeedA, [&] {
    a_started.Open();
    a_saw_b.set_value(b_started.Wait());
  });
  ex.Post(&kFeedB, [&] {
    b_started.Open();
    b_saw_a.set_value(a_started.Wait());
  });
  EXPECT_TRUE(a_saw_b.get_future().get());
  EXPECT_TRUE(b_saw_a.get_future().get());
}

TEST(Executor, UrgentJobsOfAKeyGoBeforeItsWaitingNormalOnes) {
  Executor ex({.threads = 1});
  Gate release;
  Gate blocked;
  std::vector<std::string> order;
  ex.Post(&kFeedA, [&] {
    blocked.Open();
    release.Wait();
    order.push_back("running");
  });
  ASSERT_TRUE(blocked.Wait());
  ex.Post(&kFeedA, [&] { order.push_back("put1"); });
  ex.Post(&kFeedA, [&] { order.push_back("put2"); });
  ex.Post(
      &kFeedA, [&] { order.push_back("query1"); }, Lane::kUrgent);
  ex.Post(
      &kFeedA, [&] { order.push_back("query2"); }, Lane::kUrgent);
  release.Open();
  ex.WaitIdle(&kFeedA);
  EXPECT_EQ(order, (std::vector<std::string>{"running", "query1", "query2", "put1", "put2"}));
}

TEST(Executor, AKeyWithUrgentWorkOvertakesOtherKeys) {
  Executor ex({.threads = 1});
  Gate release;
  Gate blocked;
  std::vector<std::string> order;
  ex.Post([&] {
    blocked.Open();
    release.Wait();
  });
  ASSERT_TRUE(blocked.Wait());
  ex.Post(&kFeedA, [&] { order.push_back("a-put"); });
  ex.Post(
      &kFeedB, [&] { order.push_back("b-query"); }, Lane::kUrgent);
  release.Open();
  ex.WaitIdle(&kFeedA);
  ex.WaitIdle(&kFeedB);
  EXPECT_EQ(order, (std::vector<std::string>{"b-query", "a-put"}));
}

TEST(Executor, BoundedQueueGivesBackPressure) {
  Executor ex({.threads = 1, .max_queued = 2});
  Gate release;
  Gate blocked;
  ex.Post([&] {
    blocked.Open();
    release.Wait();
  });
  ASSERT_TRUE(blocked.Wait());
  std::atomic<int> ran{0};
  EXPECT_TRUE(ex.TryPost(&kFeedA, [&] { ran++; }));
  EXPECT_TRUE(ex.TryPost(&kFeedA, [&] { ran++; }));
  EXPECT_FALSE(ex.TryPost(&kFeedA, [&] { ran++; }));  // full
  EXPECT_TRUE(ex.TryPost(
      &kFeedA, [&] { ran++; }, Lane::kUrgent));  // not counted
  // A blocking Post waits for room, which the worker makes once released.
  auto posted = std::async(std::launch::async, [&] { return ex.Post(&kFeedA, [&] { ran++; }); });
  EXPECT_EQ(posted.wait_for(50ms), std::future_status::timeout);
  release.Open();
  EXPECT_TRUE(posted.get());
  ex.WaitIdle(&kFeedA);
  EXPECT_EQ(ran.load(), 4);
}

TEST(Executor, WaitIdleFromAJobOfTheKeyReturns) {
  Executor ex({.threads = 1});
  std::promise<void> done;
  ex.Post(&kFeedA, [&] {
    ex.WaitIdle(&kFeedA);
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(30s), std::future_status::ready);
}

TEST(Executor, ShutdownRunsWhatWaitsThenRefuses) {
  Executor ex({.threads = 2});
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) ex.Post(i % 2 ? &kFeedA : &kFeedB, [&] { ran++; });
  for (int i = 0; i < 100; ++i) ex.Post([&] { ran++; });
  ex.Shutdown();
  EXPECT_EQ(ran.load(), 200);
  EXPECT_FALSE(ex.Post(&kFeedA, [&] { ran++; }));
  ex.Shutdown();  // again: nothing happens
  EXPECT_EQ(ran.load(), 200);
}

TEST(Executor, JobsMayPostMoreWithoutWaitingForRoom) {
  Executor ex({.threads = 1, .max_queued = 1});
  std::atomic<int> ran{0};
  std::promise<void> done;
  ex.Post(&kFeedA, [&] {
    for (int i = 0; i < 10; ++i) ex.Post(&kFeedA, [&] { ran++; });  // over the bound
    ex.Post(&kFeedA, [&] { done.set_value(); });
  });
  EXPECT_EQ(done.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace
}  // namespace hyper::runtime
