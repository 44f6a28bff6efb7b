// A host handler installed with SA_RESETHAND before Notify, reached through
// portsig's handler by a signal nobody wants any more (it arrives while
// Stop restores): the kernel resets such a handler to SIG_DFL as it
// delivers the signal, so it runs once and the next signal takes the
// default action. portsig, calling it in the kernel's place, must do the
// same, and must not undo a subscription made by a Notify right after the
// Stop while it does (issue 13, the hostile-host review's open finding).
//
// The signal is made to arrive at the exact point with the hooks: Stop's
// restore (restore_saved_begin) sends it to a host thread and waits for
// that thread's handler. Each case runs in a forked child.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CurrentAction;
using testing::RunInChild;

constexpr int kSig = SIGUSR1;

std::atomic<int> g_runs{0};
void ResetHandHandler(int) { g_runs.fetch_add(1); }

void InstallResetHandHandler() {
  struct sigaction action = {};
  action.sa_handler = &ResetHandHandler;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(kSig, &action, nullptr), 0);
}

bool IsDefault(int signo) { return CurrentAction(signo).sa_handler == SIG_DFL; }

// After the Stop of a subscription that stands in for SIG_DFL: the host's
// handler is not back, and SIG_DFL is, at once or after the restore delay
// (a SIG_DFL restore may linger: deferred_restore.h).
void ExpectDefaultAfterStop() {
  ASSERT_NE(CurrentAction(kSig).sa_handler, &ResetHandHandler)
      << "the SA_RESETHAND handler that ran once is back";
  testing::WaitForRestore(kSig, SIG_DFL);
}

void SpinUntil(const std::atomic<bool>& flag) {
  while (!flag.load()) sched_yield();
}

// A host thread with kSig open, which the hooks send it to.
std::atomic<pid_t> g_host_tid{0};
void* HostThread(void*) {
  sigset_t open;
  sigemptyset(&open);
  sigaddset(&open, kSig);
  pthread_sigmask(SIG_UNBLOCK, &open, nullptr);
  g_host_tid = static_cast<pid_t>(syscall(SYS_gettid));
  for (;;) usleep(1000);  // An interceptor under TSan, which runs handlers.
  return nullptr;
}
void StartHostThread() {
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, &HostThread, nullptr), 0);
  ASSERT_EQ(pthread_detach(thread), 0);
  while (g_host_tid.load() == 0) sched_yield();
}
void SendToHostThread() {
  ASSERT_EQ(syscall(SYS_tgkill, getpid(), g_host_tid.load(), kSig), 0);
}

// Armed once: the next restore of kSig sends it to the host thread first
// and returns once the handler has run there (the signal is unwanted and
// portsig's handler still in place, so it calls the host's handler).
std::atomic<bool> g_send_at_restore{false};
void SendAndWaitForTheRun(int signo) {
  if (signo != kSig || !g_send_at_restore.exchange(false)) return;
  SendToHostThread();
  while (g_runs.load() == 0) sched_yield();
}

TEST(ResetHandTest, ASignalDuringStopRunsTheHandlerOnceThenTheDefault) {
  auto status = RunInChild([] {
    InstallResetHandHandler();
    StartHostThread();
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {kSig}).ok());
    test_hooks::restore_saved_begin.store(&SendAndWaitForTheRun);
    g_send_at_restore = true;
    Stop(ch);
    EXPECT_EQ(g_runs.load(), 1);
    EXPECT_TRUE(IsDefault(kSig)) << "the SA_RESETHAND handler is still there "
                                    "after running once";
    // The next one takes the default action, as without portsig.
    raise(kSig);
  });
  EXPECT_TRUE(status.killed_by(kSig)) << status.ToString();
  EXPECT_EQ(g_runs.load(), 0);  // The runner's own count: untouched.
}

// The same, and a Notify right after the Stop: it stands in for SIG_DFL
// (what the kernel would have left), keeps its subscription, and its Stop
// puts SIG_DFL back.
TEST(ResetHandTest, ANotifyRightAfterTheStopStandsInForTheDefault) {
  auto status = RunInChild([] {
    InstallResetHandHandler();
    StartHostThread();
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {kSig}).ok());
    test_hooks::restore_saved_begin.store(&SendAndWaitForTheRun);
    g_send_at_restore = true;
    Stop(ch);
    SignalChannel again(1);
    ASSERT_TRUE(Notify(again, {kSig}).ok());
    raise(kSig);
    EXPECT_EQ(again.ReceiveFor(absl::Seconds(30)), Signal(kSig));
    Stop(again);
    EXPECT_EQ(g_runs.load(), 1);
    ExpectDefaultAfterStop();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The handler decides the signal is unwanted before the restore, and resets
// the SA_RESETHAND handler only after the restore and a new Notify have
// both run (hook resethand_before_reset): the new subscription is kept
// (its handler is not replaced by SIG_DFL, which would kill the child at
// the next signal), and stands in for SIG_DFL.
std::atomic<bool> g_in_reset{false};
std::atomic<bool> g_go_on{false};
void HoldTheReset(int signo) {
  if (signo != kSig) return;
  g_in_reset = true;
  SpinUntil(g_go_on);
}
void SendAndWaitForTheReset(int signo) {
  if (signo != kSig || !g_send_at_restore.exchange(false)) return;
  SendToHostThread();
  SpinUntil(g_in_reset);
}

TEST(ResetHandTest, ALateResetLeavesANewSubscriptionInPlace) {
  auto status = RunInChild([] {
    InstallResetHandHandler();
    StartHostThread();
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {kSig}).ok());
    test_hooks::resethand_before_reset.store(&HoldTheReset);
    test_hooks::restore_saved_begin.store(&SendAndWaitForTheReset);
    g_send_at_restore = true;
    Stop(ch);
    SignalChannel again(1);
    ASSERT_TRUE(Notify(again, {kSig}).ok());
    g_go_on = true;
    while (g_runs.load() == 0) sched_yield();
    raise(kSig);
    EXPECT_EQ(again.ReceiveFor(absl::Seconds(30)), Signal(kSig));
    Stop(again);
    EXPECT_EQ(g_runs.load(), 1);
    ExpectDefaultAfterStop();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The signal enters portsig's handler before the restore but looks at the
// table after it (hook handler_entered holds it until the restore is done):
// the restore has put the host's handler back in the kernel already, and
// portsig's handler calls it in the kernel's place; it must be reset there.
std::atomic<bool> g_entered{false};
std::atomic<bool> g_restored{false};
void HoldUntilRestored(int signo) {
  if (signo != kSig || g_restored.load()) return;
  g_entered = true;
  SpinUntil(g_restored);
}
void SendAndWaitForTheEntry(int signo) {
  if (signo != kSig || !g_send_at_restore.exchange(false)) return;
  SendToHostThread();
  SpinUntil(g_entered);
}
void MarkRestored(int signo) {
  if (signo == kSig && g_entered.load()) g_restored = true;
}

TEST(ResetHandTest, ASignalThatSawTheRestoreResetsTheKernelsDisposition) {
  auto status = RunInChild([] {
    InstallResetHandHandler();
    StartHostThread();
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {kSig}).ok());
    test_hooks::handler_entered.store(&HoldUntilRestored);
    test_hooks::disposition_changed.store(&MarkRestored);
    test_hooks::restore_saved_begin.store(&SendAndWaitForTheEntry);
    g_send_at_restore = true;
    Stop(ch);
    while (g_runs.load() == 0) sched_yield();
    EXPECT_TRUE(IsDefault(kSig)) << "the SA_RESETHAND handler is still there "
                                    "after running once";
    raise(kSig);
  });
  EXPECT_TRUE(status.killed_by(kSig)) << status.ToString();
}

// What sigaction() shows once portsig has reset the handler is what the
// kernel shows once it has: SIG_DFL with the handler's flags and mask kept
// (Linux clears only the handler). Here with SA_SIGINFO, SA_NODEFER and a
// mask, the view after the kernel's own reset (before any Notify) is
// compared with the view after portsig's, in the same child.
void ResetHandInfoHandler(int, siginfo_t*, void*) { g_runs.fetch_add(1); }

void InstallResetHandInfoHandler() {
  struct sigaction action = {};
  action.sa_sigaction = &ResetHandInfoHandler;
  action.sa_flags = SA_RESETHAND | SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR2);
  ASSERT_EQ(sigaction(kSig, &action, nullptr), 0);
}

TEST(ResetHandTest, TheDispositionLeftIsTheOneTheKernelLeaves) {
  auto status = RunInChild([] {
    InstallResetHandInfoHandler();
    raise(kSig);  // The kernel resets it.
    ASSERT_EQ(g_runs.exchange(0), 1);
    const struct sigaction kernel = CurrentAction(kSig);
    ASSERT_EQ(kernel.sa_handler, SIG_DFL);
    InstallResetHandInfoHandler();
    StartHostThread();
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {kSig}).ok());
    test_hooks::restore_saved_begin.store(&SendAndWaitForTheRun);
    g_send_at_restore = true;
    Stop(ch);
    EXPECT_EQ(g_runs.load(), 1);
    // The restore may linger (deferred_restore.h); its flags are what is
    // compared, so wait for the handler alone.
    while (CurrentAction(kSig).sa_handler != SIG_DFL) sched_yield();
    (void)Ignored(Signal(kSig));
    const struct sigaction after = CurrentAction(kSig);
    EXPECT_EQ(after.sa_handler, SIG_DFL);
    // The host's flags (SA_RESTORER and the like are the C library's).
    constexpr int kHostFlags = SA_RESETHAND | SA_SIGINFO | SA_NODEFER;
    EXPECT_EQ(after.sa_flags & kHostFlags, kernel.sa_flags & kHostFlags);
    EXPECT_EQ(kernel.sa_flags & kHostFlags, kHostFlags);
#if !defined(PORTSIG_TSAN)
    // TSan answers sigaction() from its own table, which keeps no mask for
    // a SIG_DFL it passed on (seen: SIGUSR2 missing after the restore).
    EXPECT_EQ(sigismember(&after.sa_mask, SIGUSR2), 1);
#endif
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
