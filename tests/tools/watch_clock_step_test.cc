// sigwatch --timeout is elapsed time: a wall clock stepped back while the
// watch waits must not stretch it. The watch used to keep an absl::Time
// deadline and compare it with absl::Now() after each wait, so a step back
// by a day kept it watching a day more (a step forward cut it short).
//
// The wall clock is this binary's alone (tests/testing/stepped_wall_clock.h).
// The watch runs in a forked child whose watchdog (RunInChild's alarm, 60 s)
// turns a stretched wait into a failure; a watch that ends does so at its
// own 300 ms timeout.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"
#include "tests/testing/stepped_wall_clock.h"
#include "tools/reporter.h"
#include "tools/watch.h"

namespace portsig {
namespace {

using ::portsig::testing::kOneDaySeconds;
using ::portsig::testing::RunInChild;
using ::portsig::testing::SetWallClockOffset;
using ::portsig::testing::WaitUntilBlocked;

std::atomic<pid_t> g_watcher{0};

// Steps the wall clock back a day once the watching thread sleeps.
void* StepBackOnceAsleep(void*) {
  WaitUntilBlocked(g_watcher.load());
  SetWallClockOffset(-kOneDaySeconds);
  return nullptr;
}

TEST(WatchClockStepTest, TimeoutIsNotStretchedByAStepBack) {
  auto status = RunInChild([] {
    g_watcher = static_cast<pid_t>(syscall(SYS_gettid));
    pthread_t stepper;
    ASSERT_EQ(pthread_create(&stepper, nullptr, &StepBackOnceAsleep, nullptr),
              0);
    FILE* out = std::fopen("/dev/null", "w");
    ASSERT_NE(out, nullptr);
    sigwatch::WatchOptions options;
    options.signals = {Signal(SIGUSR1)};
    options.timeout = absl::Milliseconds(300);
    options.backend = "default";
    sigwatch::Reporter reporter(sigwatch::Format::kText, options.backend,
                                options.signals,
                                std::chrono::steady_clock::now(), out);
    // No count asked for: 0 whether or not anything came.
    EXPECT_EQ(sigwatch::RunWatch(options, reporter), 0);
    ASSERT_EQ(pthread_join(stepper, nullptr), 0);
    std::fclose(out);
  });
  EXPECT_TRUE(status.exited_ok())
      << status.ToString() << " (SIGALRM: the watch was stretched)";
}

}  // namespace
}  // namespace portsig
