#include "hyper/runtime/clock.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "hyper/runtime/event_loop.h"
#include "hyper/runtime/timer.h"
#include "hyper/runtime/virtual_clock.h"

namespace hyper::runtime {
namespace {

using namespace std::chrono_literals;

TEST(VirtualClock, DueTimersFireInOrderOfDueTimeThenOfScheduling) {
  VirtualClock clock;
  const TimePoint start = clock.Now();
  std::vector<std::string> fired;
  std::vector<Duration> at;
  auto note = [&](std::string name) {
    return [&, name] {
      fired.push_back(name);
      at.push_back(clock.Now() - start);
    };
  };
  clock.Schedule(300ms, note("c"));
  clock.Schedule(100ms, note("a"));
  clock.Schedule(200ms, note("b1"));
  clock.Schedule(200ms, note("b2"));
  clock.Schedule(5s, note("late"));
  EXPECT_EQ(clock.Advance(99ms), 0u);
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(clock.Advance(201ms), 4u);  // now at 300 ms
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b1", "b2", "c"}));
  EXPECT_EQ(at, (std::vector<Duration>{100ms, 200ms, 200ms, 300ms}));
  EXPECT_EQ(clock.Now() - start, 300ms);
  EXPECT_EQ(clock.pending(), 1u);
}

TEST(VirtualClock, TimersScheduledByTimersFireInTheSameAdvance) {
  VirtualClock clock;
  const TimePoint start = clock.Now();
  std::vector<Duration> retries;
  // A retry with doubling backoff: 1 s, 2 s, 4 s, 8 s.
  std::function<void(Duration)> retry = [&](Duration backoff) {
    clock.Schedule(backoff, [&, backoff] {
      retries.push_back(clock.Now() - start);
      if (backoff < 8s) retry(backoff * 2);
    });
  };
  retry(1s);
  EXPECT_EQ(clock.Advance(10s), 3u);
  EXPECT_EQ(retries, (std::vector<Duration>{1s, 3s, 7s}));
  EXPECT_EQ(clock.Advance(10s), 1u);
  EXPECT_EQ(retries.back(), 15s);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(VirtualClock, CancelledTimersDoNotFire) {
  VirtualClock clock;
  int fired = 0;
  TimerId a = clock.Schedule(1s, [&] { fired++; });
  clock.Schedule(2s, [&] { fired += 10; });
  EXPECT_TRUE(clock.Cancel(a));
  EXPECT_FALSE(clock.Cancel(a));
  clock.Advance(3s);
  EXPECT_EQ(fired, 10);
}

TEST(VirtualClock, RunsTimersOnTheLoopWhenGivenOne) {
  EventLoop loop;
  loop.Start();
  VirtualClock clock(&loop);
  bool on_loop = false;
  clock.Schedule(1s, [&] { on_loop = loop.RunsOnLoop(); });
  EXPECT_EQ(clock.Advance(1s), 1u);
  EXPECT_TRUE(on_loop);
}

TEST(Timer, RestartReplacesAndDestructionCancels) {
  VirtualClock clock;
  std::vector<int> fired;
  {
    Timer t(clock);
    t.Start(1s, [&] { fired.push_back(1); });
    t.Start(2s, [&] { fired.push_back(2); });  // replaces the first
    EXPECT_TRUE(t.armed());
    clock.Advance(1500ms);
    EXPECT_TRUE(fired.empty());
    clock.Advance(500ms);
    EXPECT_EQ(fired, std::vector<int>{2});
    EXPECT_FALSE(t.armed());
    t.Start(1s, [&] { fired.push_back(3); });
  }  // destroyed before it fires
  clock.Advance(10s);
  EXPECT_EQ(fired, std::vector<int>{2});
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(Timer, MayRestartItselfFromItsCallback) {
  VirtualClock clock;
  Timer t(clock);
  int ticks = 0;
  std::function<void()> tick = [&] {
    ticks++;
    t.Start(1s, tick);
  };
  t.Start(1s, tick);
  clock.Advance(5s);
  EXPECT_EQ(ticks, 5);
  EXPECT_TRUE(t.armed());
}

TEST(RealClock, FiresOnTheLoopAfterTheDelay) {
  EventLoop loop;
  loop.Start();
  RealClock clock(loop);
  std::promise<TimePoint> fired;
  const TimePoint start = clock.Now();
  clock.Schedule(20ms, [&] {
    EXPECT_TRUE(loop.RunsOnLoop());
    fired.set_value(clock.Now());
  });
  EXPECT_GE(fired.get_future().get() - start, 20ms);
}

TEST(RealClock, CancelOnTheLoopIsExact) {
  EventLoop loop;
  loop.Start();
  RealClock clock(loop);
  std::promise<void> later;
  int fired = 0;
  loop.Call([&] {
    TimerId a = clock.Schedule(0ms, [&] { fired++; });
    EXPECT_TRUE(clock.Cancel(a));  // its handler may already be queued: it must not run fn
    clock.Schedule(5ms, [&] { later.set_value(); });
  });
  later.get_future().wait();
  EXPECT_EQ(loop.Call([&] { return fired; }), 0);
}

}  // namespace
}  // namespace hyper::runtime

namespace hyper::runtime {
namespace {

TEST(VirtualClock, WaitForPendingSeesTimersArmedOnAnotherThread) {
  VirtualClock clock;
  EXPECT_FALSE(clock.WaitForPending(1, std::chrono::milliseconds(1)));
  std::thread armer([&] { clock.Schedule(std::chrono::seconds(1), [] {}); });
  EXPECT_TRUE(clock.WaitForPending(1, std::chrono::seconds(30)));
  armer.join();
  EXPECT_EQ(clock.pending(), 1u);
}

}  // namespace
}  // namespace hyper::runtime
