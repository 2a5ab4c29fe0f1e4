#include "hyper/runtime/event_loop.h"

#include <gtest/gtest.h>

#include <vector>

namespace hyper::runtime {
namespace {

TEST(EventLoop, RunsPostedWorkInOrderOnItsThread) {
  EventLoop loop;
  loop.Start();
  std::vector<int> seen;
  std::thread::id where;
  for (int i = 0; i < 100; ++i) {
    loop.Post([&seen, &where, &loop, i] {
      EXPECT_TRUE(loop.RunsOnLoop());
      where = std::this_thread::get_id();
      seen.push_back(i);
    });
  }
  EXPECT_EQ(loop.Call([&] { return seen.size(); }), 100u);
  std::vector<int> want(100);
  for (int i = 0; i < 100; ++i) want[i] = i;
  EXPECT_EQ(seen, want);
  EXPECT_NE(where, std::this_thread::get_id());
  EXPECT_FALSE(loop.RunsOnLoop());
}

TEST(EventLoop, CallOnTheLoopRunsInline) {
  EventLoop loop;
  loop.Start();
  int depth = loop.Call([&] { return loop.Call([] { return 7; }); });
  EXPECT_EQ(depth, 7);
}

TEST(EventLoop, StopRunsWhatWasPostedAndCanRestart) {
  EventLoop loop;
  loop.Start();
  int ran = 0;
  for (int i = 0; i < 10; ++i) loop.Post([&] { ran++; });
  loop.Stop();
  EXPECT_EQ(ran, 10);
  EXPECT_FALSE(loop.running());
  loop.Start();
  EXPECT_TRUE(loop.running());
  EXPECT_EQ(loop.Call([&] { return ++ran; }), 11);
}

void OnlyOnTheLoop(EventLoop& loop) { HYPER_ASSERT_ON_LOOP(loop); }

TEST(EventLoop, AssertPassesOnTheLoop) {
  EventLoop loop;
  loop.Start();
  loop.Call([&] { OnlyOnTheLoop(loop); });
}

TEST(EventLoopDeathTest, AssertAbortsOffTheLoop) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        EventLoop loop;
        loop.Start();
        OnlyOnTheLoop(loop);
      },
      "OnlyOnTheLoop must run on the event loop");
}

}  // namespace
}  // namespace hyper::runtime
