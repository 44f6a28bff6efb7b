// After the default action of a stop signal (SIGTSTP) taken from inside
// portsig's handler, the handler goes back in place only if it is still
// portsig's to restore: if Stop restored the disposition meanwhile, the
// restored one stands.
//
// Test hooks order the race: a SIGTSTP reaches portsig's handler inside
// Stop's Disable (the signal already unwanted, the handler not yet
// replaced), so it takes the default action; while it is resumed from that,
// Stop runs to completion; only then does the handler decide. Without the
// check it would put portsig's handler back after Stop returned, leaving
// SIGTSTP caught by a handler nobody wants, which Reset cannot remove.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/own_restorer.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

std::atomic<int> g_stage{0};
std::atomic<pid_t> g_target{0};

// On Stop's thread, inside Disable: have the target take SIGTSTP now, and
// wait until it is past its default action.
void AtRestoreBegin(int signo) {
  if (signo != SIGTSTP || g_stage.load() != 0) return;
  g_stage = 1;
  syscall(SYS_tgkill, getpid(), g_target.load(), SIGTSTP);
  while (g_stage.load() < 2) usleep(100);
}

// On the target, in the handler, after the default action: wait until Stop
// has returned. Only atomics.
void AtDefaultResumed(int signo) {
  if (signo != SIGTSTP) return;
  g_stage = 2;
  while (g_stage.load() < 3) {
  }
}

bool IsDefault(int signo) {
  struct sigaction now;
  sigaction(signo, nullptr, &now);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
}

// Subscribes a channel to SIGTSTP, starts the target thread (g_target),
// and stops the channel on a thread of its own with the two hooks in
// place; `after_stop` runs on that thread as Stop returns. Returns once
// every thread has ended, the hooks removed.
void StopWithHooks(test_hooks::Hook at_restore_begin,
                   test_hooks::Hook at_default_resumed,
                   const std::function<void()>& after_stop) {
  SignalChannel ch(1);
  ASSERT_TRUE(Notify(ch, {SIGTSTP}).ok());
  std::atomic<bool> done{false};
  std::thread target([&] {
    g_target = static_cast<pid_t>(syscall(SYS_gettid));
    while (!done.load()) usleep(100);
  });
  while (g_target.load() == 0) usleep(100);
  test_hooks::restore_saved_begin.store(at_restore_begin);
  test_hooks::default_action_resumed.store(at_default_resumed);
  std::thread stopper([&] {
    Stop(ch);
    after_stop();
  });
  stopper.join();
  done = true;
  target.join();
  test_hooks::restore_saved_begin.store(nullptr);
  test_hooks::default_action_resumed.store(nullptr);
}

TEST(StopSignalTest, DefaultActionDoesNotReinstallAfterStopRestored) {
  // The stop may really stop the child (or be discarded, if its process
  // group is orphaned): RunInChild continues it whenever it stops.
  auto status = testing::RunInChild(
      [] {
        StopWithHooks(&AtRestoreBegin, &AtDefaultResumed, [] { g_stage = 3; });
        ASSERT_EQ(g_stage.load(), 3) << "the race was not set up";
        EXPECT_TRUE(IsDefault(SIGTSTP))
            << "portsig's handler is back after Stop";
        ASSERT_TRUE(Reset().ok());
        EXPECT_TRUE(IsDefault(SIGTSTP));
      },
      /*continue_stopped=*/true);
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

std::atomic<int> g_own_restorer_back{-1};

// On Stop's thread, inside Disable, the handler still installed: have the
// target take SIGTSTP's default action now, and wait until the target's
// handler has put portsig's handler back; keep whether it has portsig's
// restorer. Only what a handler may call, though not in one.
void AtRestoreBeginWaitForReinstall(int signo) {
  if (signo != SIGTSTP || g_stage.load() != 0) return;
  g_stage = 1;
  syscall(SYS_tgkill, getpid(), g_target.load(), SIGTSTP);
  for (;;) {
    struct sigaction now;
    sigaction(SIGTSTP, nullptr, &now);
    if (g_stage.load() == 2 && (now.sa_flags & SA_SIGINFO)) {
      g_own_restorer_back = platform::IsOwnRestorer(
          reinterpret_cast<const void*>(now.sa_restorer));
      return;
    }
    usleep(100);
  }
}

void AtDefaultResumedGoOn(int signo) {
  if (signo == SIGTSTP) g_stage = 2;
}

// The default action of a stop signal, taken from inside portsig's handler
// while the handler is still portsig's to keep (here: inside Stop, before
// it restores), puts the handler back as it found it: with portsig's own
// restorer where portsig installed it with one (platform/own_restorer.h),
// so that the handler still knows it without reading the disposition.
TEST(StopSignalTest, DefaultActionPutsPortsigsHandlerBackWithItsRestorer) {
  auto status = testing::RunInChild(
      [] {
        StopWithHooks(&AtRestoreBeginWaitForReinstall, &AtDefaultResumedGoOn,
                      [] {});
        ASSERT_EQ(g_stage.load(), 2) << "the race was not set up";
        ASSERT_NE(g_own_restorer_back.load(), -1);
        EXPECT_EQ(g_own_restorer_back.load() == 1, platform::HasOwnRestorer());
        EXPECT_TRUE(IsDefault(SIGTSTP)) << "Stop did not restore";
      },
      /*continue_stopped=*/true);
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
