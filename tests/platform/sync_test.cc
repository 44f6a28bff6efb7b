// ForkSafeMutex and ForkSafeCondVar (platform/sync.h), including in a child
// forked while a parent thread waited.
#include "platform/sync.h"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

using ::portsig::testing::RunInChild;

struct Flag {
  ForkSafeMutex mu;
  ForkSafeCondVar cv;
  bool set ABSL_GUARDED_BY(mu) = false;

  void Set() {
    MutexLock lock(&mu);
    set = true;
    cv.SignalAll();
  }
  void Await() {
    MutexLock lock(&mu);
    while (!set) cv.Wait(&mu);
  }
};

TEST(ForkSafeCondVarTest, ADeadlineWithNoSignalTimesOut) {
  Flag flag;
  MutexLock lock(&flag.mu);
  const platform::Deadline deadline =
      platform::Deadline::In(absl::Milliseconds(20));
  bool timed_out = false;
  while (!flag.set && !timed_out) {
    timed_out = flag.cv.WaitWithDeadline(&flag.mu, deadline);
  }
  EXPECT_TRUE(timed_out);
  EXPECT_TRUE(deadline.Passed());
}

// Both waiters are inside Wait (each counted itself waiting under the lock,
// and Wait released it) before SignalAll. One Wait each, no loop: a
// SignalAll that woke only one would leave the other asleep, and the
// child's watchdog (RunInChild) turns that into a failure.
TEST(ForkSafeCondVarTest, SignalAllWakesEveryWaiter) {
  auto status = RunInChild([] {
    Flag flag;
    int waiting = 0;  // Guarded by flag.mu.
    std::atomic<int> woken{0};
    auto wait_once = [&] {
      MutexLock lock(&flag.mu);
      ++waiting;
      flag.cv.Wait(&flag.mu);
      woken++;
    };
    std::thread a(wait_once);
    std::thread b(wait_once);
    for (;;) {
      MutexLock lock(&flag.mu);  // Held: both are inside Wait if counted.
      if (waiting == 2) break;
    }
    flag.Set();
    a.join();
    b.join();
    EXPECT_EQ(woken.load(), 2);
  });
  EXPECT_TRUE(status.exited_ok())
      << status.ToString() << " (SIGALRM: a waiter was never woken)";
}

// A parent thread is parked on the condition variable when the process
// forks. The child's copy, once ReinitInChild has forgotten the parent's
// waiter, must work: a new waiter there is woken, again and again, and
// signalling does not wait for the parent's waiter, which the child lacks.
// (Without ReinitInChild the second SignalAll never returns.)
TEST(ForkSafeCondVarTest, WorksInAChildForkedWhileAThreadWaited) {
  auto status = RunInChild([] {
    static Flag parents;
    static std::atomic<bool> waiting{false};
    // Detached: TSan rejects a child's threads that reuse a joinable
    // parent thread's stack.
    std::thread([] {
      MutexLock lock(&parents.mu);
      waiting = true;
      while (!parents.set) parents.cv.Wait(&parents.mu);
    }).detach();
    while (!waiting.load()) usleep(100);
    { MutexLock lock(&parents.mu); }  // It is inside Wait now.
    auto child = RunInChild([] {
      alarm(10);
      parents.cv.ReinitInChild();
      for (int round = 0; round < 3; ++round) {
        std::atomic<bool> done{false};
        std::atomic<bool> child_waiting{false};
        std::thread waiter([&] {
          MutexLock lock(&parents.mu);
          child_waiting = true;
          while (!parents.set) parents.cv.Wait(&parents.mu);
          done = true;
        });
        while (!child_waiting.load()) usleep(100);
        { MutexLock lock(&parents.mu); }  // It is inside Wait now.
        parents.Set();
        waiter.join();
        EXPECT_TRUE(done.load());
        MutexLock lock(&parents.mu);
        parents.set = false;
      }
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    parents.Set();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
