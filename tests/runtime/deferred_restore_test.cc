// DeferredRestore (runtime/deferred_restore.h) on its own, through the seam
// it was built with: an injected lock and restore function, no runtime and
// no real disposition. Each test runs in a forked child (the restoring
// thread lives as long as its process).
#include "runtime/deferred_restore.h"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/linux_layer.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace runtime {
namespace {

using testing::RunInChild;

constexpr int kMaxSignal = platform::kMaxSignal;

// The lock DeferredRestore runs its restores under, and what they did.
// Plain fields, only touched with g_mu held: a restore run without it is a
// data race TSan reports.
ForkSafeMutex g_mu;
ForkSafeCondVar g_restored_cv;
int g_restores[kMaxSignal + 1] ABSL_GUARDED_BY(g_mu) = {};
absl::Time g_restored_at[kMaxSignal + 1] ABSL_GUARDED_BY(g_mu);

void RecordRestore(int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  ++g_restores[signo];
  g_restored_at[signo] = absl::Now();
  g_restored_cv.SignalAll();
}

// Until signo has been restored `count` times in all.
void AwaitRestore(int signo, int count = 1)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  while (g_restores[signo] < count) g_restored_cv.Wait(&g_mu);
}

// Never destroyed: its thread outlives any scope.
DeferredRestore* NewDeferredRestore() {
  return new DeferredRestore(&g_mu, &RecordRestore);
}

// Returns once the restoring thread sleeps in futex(2). With something
// lingering and the lock free, that is its wait for the period to end.
void AwaitRestorerWaiting() {
  for (;;) {
    for (const std::string& tid : testing::TaskIds()) {
      if (testing::ReadTaskFile(tid, "comm").rfind("portsig-restore", 0) == 0) {
        testing::WaitUntilBlocked(std::stoi(tid));
        return;
      }
    }
    sched_yield();
  }
}

TEST(DeferredRestoreTest, AZeroDelayLeavesTheRestoreToTheCaller) {
  auto status = RunInChild([] {
    DeferredRestore* deferred = NewDeferredRestore();
    MutexLock lock(&g_mu);
    deferred->AssertHeld(&g_mu);
    ASSERT_TRUE(deferred->SetDelay(absl::ZeroDuration()).ok());
    EXPECT_FALSE(deferred->Defer(SIGUSR1));
    EXPECT_FALSE(deferred->Lingering(SIGUSR1));
    EXPECT_FALSE(deferred->Cancel(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, RestoresOnceNoSoonerThanTheDelay) {
  auto status = RunInChild([] {
    DeferredRestore* deferred = NewDeferredRestore();
    MutexLock lock(&g_mu);
    deferred->AssertHeld(&g_mu);
    const absl::Duration delay = absl::Milliseconds(20);
    ASSERT_TRUE(deferred->SetDelay(delay).ok());
    EXPECT_EQ(deferred->delay(), delay);
    const absl::Time deferred_at = absl::Now();
    ASSERT_TRUE(deferred->Defer(SIGUSR1));
    EXPECT_TRUE(deferred->Lingering(SIGUSR1));
    AwaitRestore(SIGUSR1);
    EXPECT_FALSE(deferred->Lingering(SIGUSR1));
    EXPECT_GE(g_restored_at[SIGUSR1] - deferred_at, delay);
    // Again, on the thread now running.
    const absl::Time again_at = absl::Now();
    ASSERT_TRUE(deferred->Defer(SIGUSR2));
    AwaitRestore(SIGUSR2);
    EXPECT_GE(g_restored_at[SIGUSR2] - again_at, delay);
    EXPECT_EQ(g_restores[SIGUSR1], 1);
    EXPECT_EQ(g_restores[SIGUSR2], 1);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A signal deferred while the thread waits out a period started for another
// one is not restored at that period's end, which could come at once, but
// one period later. The hold hook keeps every period from restoring
// anything until SIGUSR2 is in, so SIGUSR2 is deferred mid-period whatever
// the timing; once released, SIGUSR1 goes at the end of the next period
// and SIGUSR2 a whole period after it.
TEST(DeferredRestoreTest, ASignalDeferredMidPeriodWaitsAWholePeriodMore) {
  PORTSIG_SKIP_UNLESS_LINUX_LAYER(
      "the restorer found by its thread name and seen asleep in /proc");
  auto status = RunInChild([] {
    DeferredRestore* deferred = NewDeferredRestore();
    const absl::Duration delay = absl::Milliseconds(20);
    test_hooks::hold_deferred_restores.store(true);
    {
      MutexLock lock(&g_mu);
      deferred->AssertHeld(&g_mu);
      ASSERT_TRUE(deferred->SetDelay(delay).ok());
      ASSERT_TRUE(deferred->Defer(SIGUSR1));
    }
    AwaitRestorerWaiting();  // Periods are under way (and restore nothing).
    MutexLock lock(&g_mu);
    deferred->AssertHeld(&g_mu);
    ASSERT_TRUE(deferred->Defer(SIGUSR2));
    test_hooks::hold_deferred_restores.store(false);
    AwaitRestore(SIGUSR2);
    EXPECT_EQ(g_restores[SIGUSR1], 1);
    EXPECT_GE(g_restored_at[SIGUSR2] - g_restored_at[SIGUSR1], delay)
        << "restored in the same pass as the signal whose period it joined";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, ACancelledSignalIsNeverRestored) {
  auto status = RunInChild([] {
    DeferredRestore* deferred = NewDeferredRestore();
    MutexLock lock(&g_mu);
    deferred->AssertHeld(&g_mu);
    ASSERT_TRUE(deferred->SetDelay(absl::Milliseconds(10)).ok());
    EXPECT_FALSE(deferred->Cancel(SIGUSR1));  // Nothing was due.
    ASSERT_TRUE(deferred->Defer(SIGUSR1));
    EXPECT_TRUE(deferred->Cancel(SIGUSR1));
    EXPECT_FALSE(deferred->Lingering(SIGUSR1));
    EXPECT_FALSE(deferred->Cancel(SIGUSR1));
    // Whatever period SIGUSR1 would have ended in is over once SIGUSR2,
    // deferred after it, is restored.
    ASSERT_TRUE(deferred->Defer(SIGUSR2));
    AwaitRestore(SIGUSR2);
    EXPECT_EQ(g_restores[SIGUSR1], 0);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, ABadDelayIsRefusedByValueAndChangesNothing) {
  auto status = RunInChild([] {
    DeferredRestore* deferred = NewDeferredRestore();
    MutexLock lock(&g_mu);
    deferred->AssertHeld(&g_mu);
    EXPECT_EQ(deferred->delay(), kDefaultRestoreDelay);
    for (absl::Duration bad :
         {absl::Milliseconds(-1), kMaxRestoreDelay + absl::Nanoseconds(1),
          absl::InfiniteDuration()}) {
      const absl::Status status = deferred->SetDelay(bad);
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(status.message().find(absl::FormatDuration(bad)),
                absl::string_view::npos)
          << status;
      EXPECT_EQ(deferred->delay(), kDefaultRestoreDelay);
    }
    EXPECT_TRUE(deferred->SetDelay(kMaxRestoreDelay).ok());
    EXPECT_EQ(deferred->delay(), kMaxRestoreDelay);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// In a child forked while signals lingered (the parent's thread holding
// them back), RestoreAllInChild restores each once, at once; a later Defer
// in the child starts a thread of its own there. The parent's thread waits
// out one long period across the fork: a thread busy at fork can leave
// sanitizer runtimes' locks held in the child.
TEST(DeferredRestoreTest, RestoreAllInChildRestoresWhatLingersAndStartsOver) {
  PORTSIG_SKIP_UNLESS_LINUX_LAYER(
      "the restorer found by its thread name and seen asleep in /proc");
  auto status = RunInChild([] {
    static DeferredRestore* deferred = NewDeferredRestore();
    test_hooks::hold_deferred_restores.store(true);
    {
      MutexLock lock(&g_mu);
      deferred->AssertHeld(&g_mu);
      ASSERT_TRUE(deferred->SetDelay(kMaxRestoreDelay).ok());
      ASSERT_TRUE(deferred->Defer(SIGUSR1));
      ASSERT_TRUE(deferred->Defer(SIGHUP));
    }
    AwaitRestorerWaiting();
    auto child = RunInChild([] {
      test_hooks::hold_deferred_restores.store(false);
      MutexLock lock(&g_mu);
      deferred->AssertHeld(&g_mu);
      deferred->RestoreAllInChild();
      EXPECT_EQ(g_restores[SIGUSR1], 1);
      EXPECT_EQ(g_restores[SIGHUP], 1);
      EXPECT_FALSE(deferred->Lingering(SIGUSR1));
      EXPECT_FALSE(deferred->Lingering(SIGHUP));
      ASSERT_TRUE(deferred->SetDelay(absl::Milliseconds(10)).ok());
      ASSERT_TRUE(deferred->Defer(SIGUSR2));
      AwaitRestore(SIGUSR2);
      EXPECT_EQ(g_restores[SIGUSR1], 1);
      EXPECT_EQ(g_restores[SIGHUP], 1);
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    MutexLock lock(&g_mu);
    EXPECT_EQ(g_restores[SIGUSR1], 0) << "restored while held";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The restoring thread's tid, found by its name.
pid_t RestorerTid() {
  for (;;) {
    for (const std::string& tid : testing::TaskIds()) {
      if (testing::ReadTaskFile(tid, "comm").rfind("portsig-restore", 0) == 0) {
        return std::stoi(tid);
      }
    }
    sched_yield();
  }
}

// A signal deferred twice before its restore lingers once: counted twice,
// the count stayed above zero after the restore, and the thread went on
// waking once per delay for ever instead of waiting idle for the next
// Defer. Unreachable through the runtime today (Enable cancels a
// lingering signal before its next Disable can defer it again), kept from
// breaking by this test. Idle, the thread waits on its condition variable
// with no timeout; in a period, with one (futex(2)'s fourth argument).
TEST(DeferredRestoreTest, ASignalDeferredTwiceLingersOnce) {
  PORTSIG_SKIP_UNLESS_LINUX_LAYER(
      "the restorer found by its thread name and its wait read in /proc");
  auto status = RunInChild([] {
    alarm(30);
    DeferredRestore* deferred = NewDeferredRestore();
    {
      MutexLock lock(&g_mu);
      deferred->AssertHeld(&g_mu);
      ASSERT_TRUE(deferred->Defer(SIGUSR1));
      ASSERT_TRUE(deferred->Defer(SIGUSR1));
      AwaitRestore(SIGUSR1);
      EXPECT_FALSE(deferred->Lingering(SIGUSR1));
    }
    // The thread has restored and looked at what lingers again (it let go
    // of the lock to wait): its wait now tells which it found.
    const std::string tid = std::to_string(RestorerTid());
    for (;;) {
      long number = -1;
      unsigned long address = 0, op = 0, value = 0, timeout = 0;
      std::sscanf(testing::ReadTaskFile(tid, "syscall").c_str(),
                  "%ld %lx %lx %lx %lx", &number, &address, &op, &value,
                  &timeout);
      if (number == SYS_futex && (op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET) {
        EXPECT_EQ(timeout, 0u)
            << "the restorer waits out periods with nothing lingering";
        break;
      }
      sched_yield();
    }
    MutexLock lock(&g_mu);
    EXPECT_EQ(g_restores[SIGUSR1], 1);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace runtime
}  // namespace portsig
