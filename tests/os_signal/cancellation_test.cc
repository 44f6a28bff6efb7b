// portsig's calls are not cancellation points (os_signal/signal.h): a
// cancellation pending for a thread that calls Stop acts after Stop has
// done all of its work. Inside, Stop waits, polls and writes ready
// descriptors, each a cancellation point; the stop_between_phases hook
// stands in for them with pthread_testcancel(), so the test does not
// depend on which one a given build reaches.
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
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

// While a fork is under way, a thread about to take a channel's, context's
// or group's lock waits at fork's gate (platform/sync.h) in a condition
// variable: a cancellation point, inside calls promised not to be
// (channel.h: all but the receives; notify_context.h and signal.h: all but
// the waits). Here a host thread holds another channel's lock (the
// inside_fork_held_lock hook), so a fork stops inside its prepare handler
// with the gate closed, and a thread with a cancellation pending makes the
// call. Now the call waits out the fork and the cancellation acts after it.
std::atomic<int> g_gate_stage{0};
std::atomic<pid_t> g_forker_tid{0};
std::atomic<pid_t> g_caller_tid{0};
std::atomic<bool> g_gate_call_returned{false};
std::atomic<bool> g_caller_ready{false};
std::atomic<bool> g_cancelled_in_call{false};
thread_local bool t_holds_for_fork = false;
SignalChannel* g_held_channel = nullptr;
std::function<void()>* g_gate_call = nullptr;

// In the holder's size() of g_held_channel: held until stage 3.
void HoldWhileForking(int which) {
  if (which != 1 || !t_holds_for_fork) return;
  g_gate_stage.store(1);
  while (g_gate_stage.load() < 3) sched_yield();
}

void* HoldChannelLock(void*) {
  t_holds_for_fork = true;
  (void)g_held_channel->size();
  return nullptr;
}

void* ForkWhileHeld(void*) {
  g_forker_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int raw = 0;
  if (pid > 0) waitpid(pid, &raw, 0);
  return nullptr;
}

void* CallAtTheGate(void*) {
  g_caller_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  // Once before: this thread's record of fork-held locks is made now, not
  // under the registry's lock, which the fork holds.
  (*g_gate_call)();
  g_caller_ready.store(true);
  while (g_gate_stage.load() < 2) sched_yield();
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  {
    // Unwound by the cancellation before the call returned. (The thread
    // then waits to exit until the fork is over: its record of fork-held
    // locks leaves the registry under the lock the fork holds.)
    struct MarkUnwound {
      ~MarkUnwound() {
        if (!g_gate_call_returned.load()) g_cancelled_in_call.store(true);
      }
    } mark;
    (*g_gate_call)();
    g_gate_call_returned.store(true);
  }
  pthread_testcancel();  // Acts here, after the call.
  return nullptr;
}

// Makes `call` on a thread with a cancellation pending while a fork waits
// with its gate closed; the child exits 3 if the call was cancelled there.
// With the calling thread made and ready: stops a fork with its gate
// closed (the holder keeps a channel's lock, the forker waits for it) and
// returns once the caller either ended, cancelled at the gate (true), or
// waits there (false): the gate is the only wait on its way, a condition
// variable's (futex(2) with FUTEX_WAIT_BITSET; a contended lock would be
// FUTEX_WAIT). The fork goes on at g_gate_stage 3; then join both.
bool CancelledAtTheGate(pthread_t* holder, pthread_t* forker) {
  EXPECT_EQ(pthread_create(holder, nullptr, &HoldChannelLock, nullptr), 0);
  while (g_gate_stage.load() < 1) sched_yield();
  EXPECT_EQ(pthread_create(forker, nullptr, &ForkWhileHeld, nullptr), 0);
  while (g_forker_tid.load() == 0) sched_yield();
  testing::WaitUntilBlocked(g_forker_tid.load());
  g_gate_stage.store(2);
  const std::string tid = std::to_string(g_caller_tid.load());
  for (;;) {
    if (g_cancelled_in_call.load()) return true;
    long number = -1;
    unsigned long address = 0, op = 0;
    std::sscanf(testing::ReadTaskFile(tid, "syscall").c_str(), "%ld %lx %lx",
                &number, &address, &op);
    if (number == SYS_futex && (op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET) {
      return false;
    }
    sched_yield();
  }
}

void ExpectNoCancellationAtTheGate(std::function<void()> call) {
  auto status = RunInChild([&] {
    alarm(30);
    // Subscribed, so that portsig's fork handlers are in place.
    SignalChannel held(1);
    ASSERT_TRUE(Notify(held, {SIGUSR2}).ok());
    testing::WaitForPortsigThreadsAsleep();
    g_held_channel = &held;
    g_gate_call = &call;
    test_hooks::inside_fork_held_lock.store(&HoldWhileForking);
    pthread_t holder, forker, caller;
    ASSERT_EQ(pthread_create(&caller, nullptr, &CallAtTheGate, nullptr), 0);
    while (!g_caller_ready.load()) sched_yield();
    const bool ended = CancelledAtTheGate(&holder, &forker);
    g_gate_stage.store(3);  // Lets the fork go on.
    pthread_join(holder, nullptr);
    pthread_join(forker, nullptr);
    test_hooks::inside_fork_held_lock.store(nullptr);
    if (ended) _exit(3);
    void* result = nullptr;
    ASSERT_EQ(pthread_join(caller, &result), 0);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_TRUE(g_gate_call_returned.load());
  });
  EXPECT_FALSE(WIFEXITED(status.raw) && WEXITSTATUS(status.raw) == 3)
      << "cancelled at fork's gate, inside a call that is no cancellation "
         "point";
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancellationTest, ChannelSizeIsNoCancellationPointDuringAFork) {
  SignalChannel channel(1);
  ExpectNoCancellationAtTheGate([&] { (void)channel.size(); });
}

TEST(CancellationTest, ContextCallsAreNoCancellationPointsDuringAFork) {
  absl::StatusOr<SignalContext> context = NotifyContext({SIGUSR1});
  ASSERT_TRUE(context.ok());
  ExpectNoCancellationAtTheGate([&] { (void)context->signal(); });
  ExpectNoCancellationAtTheGate([&] { (void)context->done(); });
}

TEST(CancellationTest, GroupSizeIsNoCancellationPointDuringAFork) {
  ChannelGroup group;
  SignalChannel member(1);
  ASSERT_TRUE(group.Add(&member).ok());
  ExpectNoCancellationAtTheGate([&] { (void)group.size(); });
}

// A context's Wait in a forked child lets go of the context's lock by hand
// while it starts the dispatcher, with cancellation held off (2f99745),
// then takes it back. Taking it back may wait at fork's gate, when another
// thread forks meanwhile; a cancellation acting there unwound through the
// wait's lock guard with the lock not held: it unlocked the lock a second
// time and wrote below the thread's record of fork-held locks. Here the
// waiter's mask-thread start (in the region) waits until a fork has closed
// the gate, and then fails (no thread can be made), so that the gate is
// the next wait. Now the waiter waits out the fork, and the cancellation
// acts in the context's wait proper, with the lock held.
void WaiterReachesTheGate(int) {
  if (g_gate_stage.load() != 0) return;
  g_caller_ready.store(true);
  while (g_gate_stage.load() < 2) sched_yield();
  // No thread can be made from here until the test restores the default:
  // the mask thread's start fails without a wait.
  pthread_attr_t huge;
  pthread_attr_init(&huge);
  pthread_attr_setstacksize(&huge, size_t{1} << 50);
  pthread_setattr_default_np(&huge);
  pthread_attr_destroy(&huge);
}

void* CancelledWaitAtTheGate(void* context) {
  g_caller_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  struct MarkUnwound {
    ~MarkUnwound() {
      if (g_gate_stage.load() < 3) g_cancelled_in_call.store(true);
    }
  } mark;
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  static_cast<SignalContext*>(context)->Wait();
  return nullptr;
}

TEST(CancellationTest, ACancelledContextWaitInAForkedChildWaitsOutAFork) {
  auto status = RunInChild([] {
    absl::StatusOr<SignalContext> context = NotifyContext({SIGUSR1});
    ASSERT_TRUE(context.ok());
    SignalChannel held(1);
    ASSERT_TRUE(Notify(held, {SIGUSR2}).ok());
    g_held_channel = &held;
    testing::WaitForPortsigThreadsAsleep();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(30);
      pthread_attr_t normal;
      pthread_getattr_default_np(&normal);
      test_hooks::mask_change_requested.store(&WaiterReachesTheGate);
      test_hooks::inside_fork_held_lock.store(&HoldWhileForking);
      pthread_t waiter, holder, forker;
      pthread_create(&waiter, nullptr, &CancelledWaitAtTheGate, &*context);
      while (!g_caller_ready.load()) sched_yield();
      const bool ended = CancelledAtTheGate(&holder, &forker);
      pthread_setattr_default_np(&normal);
      g_gate_stage.store(3);
      pthread_join(holder, nullptr);
      pthread_join(forker, nullptr);
      if (ended) _exit(3);
      void* result = nullptr;
      pthread_join(waiter, &result);
      _exit(result == PTHREAD_CANCELED ? 0 : 4);
    }
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    ASSERT_TRUE(WIFEXITED(raw)) << "raw status " << raw;
    EXPECT_NE(WEXITSTATUS(raw), 3)
        << "the waiter was cancelled at fork's gate while taking the "
           "context's lock back, and unwound through its guard";
    EXPECT_EQ(WEXITSTATUS(raw), 0);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// done() and status() in a forked child start the dispatcher and the mask
// thread where none runs, and starting the mask thread waits for it (a
// condition variable: a cancellation point, for which the
// mask_change_requested hook stands in). They held no cancellation off, so
// a pending cancellation acted inside them, against signal.h (only the
// waits can be cancelled). Now it acts after they return.
std::atomic<bool> g_done_returned{false};

void* DoneWithACancellationPending(void* context) {
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  (void)static_cast<SignalContext*>(context)->done();
  g_done_returned.store(true);
  pthread_testcancel();  // Acts here, after done().
  return nullptr;
}

TEST(CancellationTest, APendingCancellationActsAfterDoneInAForkedChild) {
  auto status = RunInChild([] {
    absl::StatusOr<SignalContext> context = NotifyContext({SIGUSR1});
    ASSERT_TRUE(context.ok());
    testing::WaitForPortsigThreadsAsleep();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(30);
      test_hooks::mask_change_requested.store(&CancellationPoint);
      pthread_t thread;
      pthread_create(&thread, nullptr, &DoneWithACancellationPending,
                     &*context);
      void* result = nullptr;
      pthread_join(thread, &result);
      test_hooks::mask_change_requested.store(nullptr);
      if (result != PTHREAD_CANCELED) _exit(4);
      _exit(g_done_returned.load() ? 0 : 3);
    }
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    ASSERT_TRUE(WIFEXITED(raw)) << "raw status " << raw;
    EXPECT_NE(WEXITSTATUS(raw), 3) << "cancelled inside done()";
    EXPECT_EQ(WEXITSTATUS(raw), 0);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// portsig's handler may run on a host thread that has a cancellation
// pending (deferred: it acts at the next cancellation point). The handler's
// one wake-up must not be that point: on the generic POSIX layer it was a
// write(2) to the sleeper's pipe, so the thread was cancelled inside the
// handler, at whatever instruction the signal interrupted, and the receiver
// it had picked was never woken. On the Linux layer (a futex wake) it
// never was.
std::atomic<bool> g_spin_go{false};
std::atomic<bool> g_spinner_ready{false};
std::atomic<bool> g_spin_returned{false};
std::atomic<pid_t> g_receiver_tid{0};
std::atomic<bool> g_received{false};
SignalChannel* g_receive_from = nullptr;

void* SpinWithACancellationPending(void*) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
  pthread_cancel(pthread_self());
  g_spinner_ready.store(true);
  while (!g_spin_go.load()) {  // No cancellation point here.
  }
  g_spin_returned.store(true);
  pthread_testcancel();
  return nullptr;
}

void* ReceiveWithEverySignalBlocked(void*) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  g_receiver_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  if (g_receive_from->ReceiveFor(absl::Seconds(20)).has_value()) {
    g_received.store(true);
  }
  return nullptr;
}

TEST(CancellationTest, TheHandlersWakeUpIsNoCancellationPoint) {
  auto status = RunInChild([] {
    alarm(40);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
    SignalChannel channel(1);
    g_receive_from = &channel;
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    testing::WaitForPortsigThreadsAsleep();
    pthread_t receiver, spinner;
    pthread_create(&receiver, nullptr, &ReceiveWithEverySignalBlocked, nullptr);
    while (g_receiver_tid.load() == 0) sched_yield();
    testing::WaitUntilBlocked(g_receiver_tid.load());
    pthread_create(&spinner, nullptr, &SpinWithACancellationPending, nullptr);
    while (!g_spinner_ready.load()) sched_yield();
    // The handler runs on the spinner, the only thread not blocking it.
    ASSERT_EQ(pthread_kill(spinner, SIGUSR1), 0);
    for (;;) {
      if (g_received.load()) break;
      if (pthread_tryjoin_np(spinner, nullptr) == 0) {
        _exit(3);  // Cancelled inside the handler.
      }
      sched_yield();
    }
    g_spin_go.store(true);
    void* result = nullptr;
    pthread_join(spinner, &result);
    pthread_join(receiver, nullptr);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_TRUE(g_spin_returned.load()) << "cancelled before its own point";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
