// The restore delay (Options::restore_delay, runtime/deferred_restore.h): after
// the last Stop, portsig's handler lingers for signals whose saved disposition
// is a default action that ends the process, so a Notify soon after makes no
// sigaction call; every other case restores inside Stop, and nothing a
// signal does differs meanwhile. A test hook holds the restores back, so no
// test depends on how long anything takes.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

absl::Duration RestoreDelay() { return *CurrentOptions().restore_delay; }

absl::Status SetRestoreDelay(absl::Duration delay) {
  Options options;
  options.restore_delay = delay;
  return Configure(options);
}

using testing::CurrentAction;
using testing::RunInChild;
using testing::SetPlainHandler;
using testing::WaitForRestore;

bool IsPortsigHandler(int signo) {
  return (CurrentAction(signo).sa_flags & SA_SIGINFO) != 0;
}

bool Is(int signo, void (*handler)(int)) {
  struct sigaction now = CurrentAction(signo);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == handler;
}

// Leaves `signals` with no subscriber, as a Stop does: their handler
// lingers, unless the restore cannot wait.
bool NotifyThenStop(std::initializer_list<Signal> signals) {
  SignalChannel channel(1);
  if (!Notify(channel, signals).ok()) return false;
  Stop(channel);
  return true;
}

std::atomic<int> g_dispositions_set{0};
void CountDisposition(int) { g_dispositions_set.fetch_add(1); }

std::atomic<int> g_host_calls{0};
void HostHandler(int) { g_host_calls.fetch_add(1); }

std::atomic<int> g_restores_begun{0};
void CountRestore(int) { g_restores_begun.fetch_add(1); }

TEST(DeferredRestoreTest, ANotifySoonAfterStopMakesNoSigactionCall) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    test_hooks::disposition_changed.store(&CountDisposition);
    for (int round = 0; round < 5; ++round) {
      ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
    }
    EXPECT_EQ(g_dispositions_set.load(), 1)
        << "each Notify+Stop pair changed the disposition";
    EXPECT_TRUE(IsPortsigHandler(SIGUSR1));
    // Let the restore run: it puts SIG_DFL back, once.
    test_hooks::hold_deferred_restores.store(false);
    WaitForRestore(SIGUSR1, SIG_DFL);
    EXPECT_EQ(g_dispositions_set.load(), 2);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, AnUnwantedSignalMeanwhileTakesTheDefaultAction) {
  for (int signo : {SIGUSR1, SIGTERM, SIGRTMIN + 2}) {
    auto status = RunInChild([signo] {
      test_hooks::hold_deferred_restores.store(true);
      ASSERT_TRUE(NotifyThenStop({signo}));
      ASSERT_TRUE(IsPortsigHandler(signo));
      raise(signo);
      ADD_FAILURE() << "survived signal " << signo;
    });
    EXPECT_TRUE(status.killed_by(signo))
        << "signal " << signo << ": " << status.ToString();
  }
}

TEST(DeferredRestoreTest, OnlyASavedDefaultThatEndsTheProcessWaits) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    ASSERT_TRUE(SetPlainHandler(SIGUSR2, &HostHandler));
    ASSERT_NE(signal(SIGHUP, SIG_IGN), SIG_ERR);
    ASSERT_TRUE(NotifyThenStop({SIGUSR2, SIGHUP, SIGWINCH, SIGCHLD, SIGTSTP,
                                SIGQUIT, SIGABRT, SIGINT}));
    EXPECT_TRUE(Is(SIGUSR2, &HostHandler)) << "a host's handler waited";
    EXPECT_TRUE(Is(SIGHUP, SIG_IGN)) << "an inherited SIG_IGN waited";
    EXPECT_TRUE(Is(SIGWINCH, SIG_DFL)) << "a default of ignore waited";
    EXPECT_TRUE(Is(SIGCHLD, SIG_DFL)) << "a default of ignore waited";
    EXPECT_TRUE(Is(SIGTSTP, SIG_DFL)) << "a default of stop waited";
    EXPECT_TRUE(Is(SIGQUIT, SIG_DFL)) << "a default of core waited";
    EXPECT_TRUE(Is(SIGABRT, SIG_DFL)) << "a default of core waited";
    EXPECT_TRUE(IsPortsigHandler(SIGINT)) << "SIGINT's default did not wait";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, ResetAndIgnoreDoNotWait) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    ASSERT_TRUE(NotifyThenStop({SIGUSR1, SIGTERM}));
    ASSERT_TRUE(IsPortsigHandler(SIGUSR1));
    ASSERT_TRUE(Reset({SIGUSR1}).ok());
    EXPECT_TRUE(Is(SIGUSR1, SIG_DFL));
    ASSERT_TRUE(Ignore({SIGTERM}).ok());
    EXPECT_TRUE(Is(SIGTERM, SIG_IGN));
    ASSERT_TRUE(Reset({SIGTERM}).ok());
    EXPECT_TRUE(Is(SIGTERM, SIG_DFL));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, AHostHandlerInstalledMeanwhileStays) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    test_hooks::restore_saved_begin.store(&CountRestore);
    ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
    ASSERT_TRUE(SetPlainHandler(SIGUSR1, &HostHandler));
    test_hooks::hold_deferred_restores.store(false);
    while (g_restores_begun.load() == 0) sched_yield();
    // Ignored takes the runtime's lock, so the restore has finished.
    EXPECT_FALSE(Ignored(SIGUSR1));
    EXPECT_TRUE(Is(SIGUSR1, &HostHandler));
    raise(SIGUSR1);
    EXPECT_EQ(g_host_calls.load(), 1);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, AForkedChildRestoresAtOnceAndDefersAgain) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
    ASSERT_TRUE(IsPortsigHandler(SIGUSR1));
    // The restoring thread is asleep and the dispatcher idle: safe to fork
    // under the sanitizers too.
    auto grandchild = RunInChild([] {
      EXPECT_TRUE(Is(SIGUSR1, SIG_DFL)) << "the child kept the handler";
      // The child's own restoring thread starts and does its work.
      ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
      test_hooks::hold_deferred_restores.store(false);
      WaitForRestore(SIGUSR1, SIG_DFL);
    });
    EXPECT_TRUE(grandchild.exited_ok()) << grandchild.ToString();
    EXPECT_TRUE(IsPortsigHandler(SIGUSR1)) << "the parent lost its handler";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The parent's restoring thread, asleep with nothing to do when the child is
// forked, is still counted as a waiter by the child's copy of its condition
// variable; glibc's broadcast would wait for it to leave. Three rounds: the
// second broadcast is the one that hung.
TEST(DeferredRestoreTest, AForkedChildDefersRoundAfterRound) {
  auto status = RunInChild([] {
    ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
    WaitForRestore(SIGUSR1, SIG_DFL);
    auto grandchild = RunInChild([] {
      for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
        WaitForRestore(SIGUSR1, SIG_DFL);
      }
    });
    EXPECT_TRUE(grandchild.exited_ok()) << grandchild.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, IgnoredSeesAHostsSigIgnOverALingeringHandler) {
  auto status = RunInChild([] {
    test_hooks::hold_deferred_restores.store(true);
    ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
    EXPECT_FALSE(Ignored(SIGUSR1));
    ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
    EXPECT_TRUE(Ignored(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, AZeroDelayRestoresInsideStop) {
  auto status = RunInChild([] {
    ASSERT_EQ(RestoreDelay(), absl::Milliseconds(10));
    ASSERT_TRUE(SetRestoreDelay(absl::ZeroDuration()).ok());
    ASSERT_TRUE(NotifyThenStop({SIGUSR1}));
    EXPECT_TRUE(Is(SIGUSR1, SIG_DFL));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeferredRestoreTest, ADelayOutOfRangeIsRefusedAndChangesNothing) {
  auto status = RunInChild([] {
    const absl::Duration before = RestoreDelay();
    absl::Status negative = SetRestoreDelay(absl::Milliseconds(-1));
    EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(negative.message().find("-1ms"), absl::string_view::npos)
        << negative;
    absl::Status too_long = SetRestoreDelay(absl::Seconds(2));
    EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(too_long.message().find("2s"), absl::string_view::npos)
        << too_long;
    EXPECT_EQ(RestoreDelay(), before);
    EXPECT_TRUE(SetRestoreDelay(absl::Seconds(1)).ok());
    EXPECT_EQ(RestoreDelay(), absl::Seconds(1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
