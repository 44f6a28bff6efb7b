// portsig's calls are not cancellation points (os_signal/signal.h): a
// cancellation pending for a thread that calls Stop acts after Stop has
// done all of its work. Inside, Stop waits, polls and writes ready
// descriptors, each a cancellation point; the stop_between_phases hook
// stands in for them with pthread_testcancel(), so the test does not
// depend on which one a given build reaches.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

using testing::RunInChild;

void CancellationPoint(int) { pthread_testcancel(); }

std::atomic<bool> g_stop_returned{false};

void* StopWithACancellationPending(void* channel) {
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  Stop(*static_cast<SignalChannel*>(channel));
  g_stop_returned.store(true);
  pthread_testcancel();  // Acts here, after Stop.
  return nullptr;
}

// Without the cancellation held off, the thread ended inside Stop: the flag
// stayed false, and the channel stayed parked in the stopping list.
TEST(CancellationTest, APendingCancellationActsAfterStopReturns) {
  auto status = RunInChild([] {
    alarm(30);
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    test_hooks::stop_between_phases.store(&CancellationPoint);
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, nullptr, &StopWithACancellationPending,
                             &channel),
              0);
    void* result = nullptr;
    ASSERT_EQ(pthread_join(thread, &result), 0);
    test_hooks::stop_between_phases.store(nullptr);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_TRUE(g_stop_returned.load()) << "cancelled inside Stop";
    // The library goes on: the same signal on another channel.
    SignalChannel next(1);
    ASSERT_TRUE(Notify(next, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(next.ReceiveFor(absl::Seconds(20)), Signal(SIGUSR1));
    EXPECT_FALSE(channel.TryReceive().has_value());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A context's Wait in a forked child, where no dispatcher runs yet, lets go
// of the context's lock while it starts one (which waits for the mask
// thread: a cancellation point). A cancellation acting there unwound
// through the wait's lock guard, which unlocked the context's lock a second
// time, out from under whichever thread held it then (and wrote below the
// fork-held lock records). Now the cancellation stays pending there and
// acts in the wait proper, with the lock held again.
std::atomic<int> g_stage{0};
std::atomic<pid_t> g_waiter_tid{0};
SignalContext* g_context = nullptr;

// On the waiter, in the unlocked region (the mask thread's start): once
// another thread holds the context's lock, a cancellation point.
void CancelWhileUnlocked(int) {
  if (g_stage.load() != 1) return;
  g_stage.store(2);
  while (g_stage.load() < 3) sched_yield();
  pthread_testcancel();
}

// On the holder, inside the context's lock: held until released.
void HoldContextLock(int which) {
  if (which != 2 || g_stage.load() != 2) return;
  g_stage.store(3);
  while (g_stage.load() < 4) sched_yield();
}

void* CancelledWaiter(void*) {
  g_waiter_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  g_stage.store(1);
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  g_context->Wait();
  return nullptr;
}

void* LockHolder(void*) {
  (void)g_context->signal();
  return nullptr;
}

TEST(CancellationTest, ACancelledContextWaitInAForkedChildKeepsTheLockRight) {
  auto status = RunInChild([] {
    absl::StatusOr<SignalContext> context = NotifyContext({SIGUSR1});
    ASSERT_TRUE(context.ok());
    g_context = &*context;
    testing::WaitForPortsigThreadsAsleep();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(30);
      test_hooks::mask_change_requested.store(&CancelWhileUnlocked);
      test_hooks::inside_fork_held_lock.store(&HoldContextLock);
      pthread_t waiter, holder;
      pthread_create(&waiter, nullptr, &CancelledWaiter, nullptr);
      while (g_stage.load() < 2) sched_yield();
      pthread_create(&holder, nullptr, &LockHolder, nullptr);
      while (g_stage.load() < 3) sched_yield();
      // The holder has the lock. The waiter either ends (cancelled in the
      // unlocked region, unwinding through the lock) or blocks on the lock.
      const std::string tid = std::to_string(g_waiter_tid.load());
      bool ended = false;
      for (;;) {
        if (pthread_tryjoin_np(waiter, nullptr) == 0) {
          ended = true;
          break;
        }
        const long call =
            std::atol(testing::ReadTaskFile(tid, "syscall").c_str());
        if (call == SYS_futex) break;
        sched_yield();
      }
      if (ended) _exit(3);  // Unwound while another thread held the lock.
      g_stage.store(4);
      void* result = nullptr;
      pthread_join(waiter, &result);
      pthread_join(holder, nullptr);
      _exit(result == PTHREAD_CANCELED ? 0 : 4);
    }
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    ASSERT_TRUE(WIFEXITED(raw)) << "raw status " << raw;
    EXPECT_NE(WEXITSTATUS(raw), 3)
        << "the waiter was cancelled with the context's lock let go, and "
           "unlocked it while another thread held it";
    EXPECT_EQ(WEXITSTATUS(raw), 0);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The last reference to a context's state may be dropped after the guard
// of the call that drops it has ended: in the destructor and in assignment
// (the state_ member goes after the body), or in a waiter leaving a context
// destroyed meanwhile. The state closes its ready descriptor then, and
// close(2) is a cancellation point: a pending cancellation acted inside a
// destructor, and the forced unwinding out of it ended the process
// (std::terminate). Now it acts after the call returns.
std::atomic<bool> g_context_call_returned{false};

// Drops a context that holds a ready descriptor, with a cancellation
// pending, by assignment (`by_assignment`) or by destruction.
void* DropAContextWithACancellationPending(void* by_assignment) {
  absl::StatusOr<SignalContext> context = NotifyContext({SIGUSR1});
  absl::StatusOr<SignalContext> other = NotifyContext({SIGUSR2});
  if (!context.ok() || !other.ok() || !context->ReadyFd().ok()) return nullptr;
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  if (by_assignment != nullptr) {
    *context = *std::move(other);  // The one it held goes.
  } else {
    context = absl::CancelledError("destroyed");  // Destroys the context.
  }
  g_context_call_returned.store(true);
  pthread_testcancel();  // Acts here, after the call.
  return nullptr;
}

void ExpectCancelledAfterDroppingAContext(bool by_assignment) {
  auto status = RunInChild([by_assignment] {
    alarm(30);
    static int yes = 1;
    pthread_t thread;
    ASSERT_EQ(
        pthread_create(&thread, nullptr, &DropAContextWithACancellationPending,
                       by_assignment ? &yes : nullptr),
        0);
    void* result = nullptr;
    ASSERT_EQ(pthread_join(thread, &result), 0);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_TRUE(g_context_call_returned.load());
  });
  // Without the fix: killed by SIGABRT (std::terminate).
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancellationTest, APendingCancellationActsAfterAContextIsDestroyed) {
  ExpectCancelledAfterDroppingAContext(/*by_assignment=*/false);
}

TEST(CancellationTest, APendingCancellationActsAfterAContextIsAssignedTo) {
  ExpectCancelledAfterDroppingAContext(/*by_assignment=*/true);
}

}  // namespace
}  // namespace portsig
