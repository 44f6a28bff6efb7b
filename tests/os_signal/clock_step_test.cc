// A step of the wall clock while a thread waits with a timeout. ReceiveFor
// and WaitFor promise `timeout` of elapsed time; they used to turn it into
// a wall-clock deadline and compare it with absl::Now() after each wait,
// so a clock stepped back by a day while a receiver waited kept it waiting
// a day more (and one stepped forward cut the wait short).
//
// The wall clock is not the machine's: tests/testing/stepped_wall_clock.h
// moves CLOCK_REALTIME for this binary alone. Each case runs in a forked
// child whose watchdog (RunInChild's alarm, 60 s) turns a stretched wait
// into a failure; a wait that ends does so at its own (short) timeout.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <optional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"
#include "tests/testing/stepped_wall_clock.h"

namespace portsig {
namespace {

using ::portsig::testing::kOneDaySeconds;
using ::portsig::testing::RunInChild;
using ::portsig::testing::SetWallClockOffset;
using ::portsig::testing::WaitUntilBlocked;

constexpr absl::Duration kTimeout = absl::Milliseconds(300);

// Runs `wait` on a thread, steps the wall clock back a day once the thread
// is asleep in it, and joins the thread.
template <typename Wait>
void StepBackWhileWaiting(Wait wait) {
  static Wait* body = &wait;
  static std::atomic<pid_t> tid{0};
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, nullptr,
                [](void*) -> void* {
                  tid = static_cast<pid_t>(syscall(SYS_gettid));
                  (*body)();
                  return nullptr;
                },
                nullptr),
            0);
  while (tid.load() == 0) usleep(100);
  WaitUntilBlocked(tid.load());
  SetWallClockOffset(-kOneDaySeconds);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
}

TEST(ClockStepTest, TheInterposedClockMovesAbslNow) {
  const absl::Time before = absl::Now();
  SetWallClockOffset(-kOneDaySeconds);
  const absl::Time after = absl::Now();
  SetWallClockOffset(0);
  EXPECT_LT(after, before - absl::Hours(23));
}

TEST(ClockStepTest, ReceiveForIsNotStretchedByAStepBack) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    std::optional<Signal> got = Signal(SIGUSR2);
    StepBackWhileWaiting([&] { got = ch.ReceiveFor(kTimeout); });
    EXPECT_EQ(got, std::nullopt);
  });
  EXPECT_TRUE(status.exited_ok())
      << status.ToString() << " (SIGALRM: the wait was stretched)";
}

TEST(ClockStepTest, ContextWaitForIsNotStretchedByAStepBack) {
  auto status = RunInChild([] {
    auto ctx = NotifyContext({SIGUSR1});
    ASSERT_TRUE(ctx.ok());
    bool done = true;
    StepBackWhileWaiting([&] { done = ctx->WaitFor(kTimeout); });
    EXPECT_FALSE(done);
  });
  EXPECT_TRUE(status.exited_ok())
      << status.ToString() << " (SIGALRM: the wait was stretched)";
}

// ReceiveUntil takes a wall-clock time, read once when the call begins: a
// later step does not move it either.
TEST(ClockStepTest, ReceiveUntilIsReadOnceAgainstTheWallClock) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    std::optional<Signal> got = Signal(SIGUSR2);
    const absl::Time deadline = absl::Now() + kTimeout;
    StepBackWhileWaiting([&] { got = ch.ReceiveUntil(deadline); });
    EXPECT_EQ(got, std::nullopt);
  });
  EXPECT_TRUE(status.exited_ok())
      << status.ToString() << " (SIGALRM: the wait was stretched)";
}

}  // namespace
}  // namespace portsig
