// Library bugs the reliability harnesses found (RELIABILITY.md), each
// pinned by a deterministic test that failed before its fix.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"
#include "tests/testing/linux_layer.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

// --- 1. A signal racing Stop takes SIG_DFL instead of the restored one. ---
//
// A signal that entered portsig's handler before Stop, but reads `wanted`
// after Stop's Disable and the saved disposition after RestoreSaved has
// marked it invalid, falls through to TakeDefaultAction: the default action,
// not the host handler (or SIG_IGN, as under nohup) that Stop restored. For
// SIGHUP under nohup, or any signal with a host handler, that kills the
// process. The storm harness hits it within seconds with
// --host_handled_churn; here the handler_entered hook holds the sender at
// the handler's entry while Stop runs.

std::atomic<int> g_host_calls{0};
void Host(int) { g_host_calls++; }
std::atomic<int> g_stage{0};
void HoldAtEntry(int signo) {
  if (signo != SIGUSR1 || g_stage.load() != 0) return;
  g_stage = 1;
  while (g_stage.load() < 2) {
  }
}

TEST(HarnessRegressionTest, SignalRacingStopTakesTheRestoredDisposition) {
  auto status = testing::RunInChild([] {
    signal(SIGUSR1, &Host);
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    test_hooks::handler_entered.store(&HoldAtEntry);
    std::thread sender([] { raise(SIGUSR1); });
    while (g_stage.load() < 1) usleep(100);
    Stop(ch);  // Returns: the sender has not reached Send yet.
    g_stage = 2;
    sender.join();
    test_hooks::handler_entered.store(nullptr);
    // Either outcome keeps the promise; being killed by SIGUSR1 does not.
    EXPECT_EQ(g_host_calls.load() + ch.delivered(), 1u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// --- 2. A child forked while a thread waits on the handler map's lock. ---
//
// os_signal and the runtime hold a lock across fork() and unlock it in the
// child. They once used absl::Mutex there (today ForkSafeMutex, a pthread
// mutex, sync.h), and this test guards that choice: if another thread of
// the parent was queued on an absl::Mutex, the child's copy still lists it as a
// waiter; unlocking hands the mutex to that thread, which does not exist in the
// child, and the next contended Lock there never returns. The fork storm
// harness finds such hung children; here an atfork prepare handler (registered
// before portsig's, so it runs after portsig has taken its locks) makes a
// thread queue on the handler map's lock, and lets the fork proceed only once
// that thread sleeps in futex(2).

std::atomic<bool> g_make_waiter{false};
std::atomic<bool> g_waiter_started{false};
std::atomic<pid_t> g_waiter_tid{0};
SignalChannel* g_waiter_channel = nullptr;
void PrepareWithWaiter() {
  if (!g_make_waiter.load()) return;
  g_waiter_started = true;  // The waiter thread now calls Notify and blocks.
  // The fork goes on only once it sleeps on the lock portsig holds.
  testing::WaitUntilBlocked(g_waiter_tid.load());
}

TEST(HarnessRegressionTest, ChildForkedWhileAThreadWaitsOnTheLockDoesNotHang) {
  PORTSIG_SKIP_UNLESS_LINUX_LAYER("/proc shows when the waiter sleeps");
  auto status = testing::RunInChild([] {
    ASSERT_EQ(pthread_atfork(&PrepareWithWaiter, nullptr, nullptr), 0);
    SignalChannel ch(1), other(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    g_waiter_channel = &other;
    // Detached, not joined: TSan (GCC 12) aborts a forked child with "dup
    // thread with used id" when the child starts a thread on the stack of
    // a joinable thread the parent had at fork; detached ones it forgets.
    static std::atomic<bool> waiter_done{false};
    std::thread([] {
      g_waiter_tid = gettid();
      while (!g_waiter_started.load()) usleep(100);
      (void)Notify(*g_waiter_channel, {SIGUSR2});
      waiter_done = true;
    }).detach();
    while (g_waiter_tid.load() == 0) usleep(100);
    g_make_waiter = true;
    auto child = testing::RunInChild([&] {
      alarm(20);  // A hang dies of SIGALRM.
      // Contention in the child: the dispatcher fans out while three
      // threads take the lock for Notify and Stop, so some of them block.
      std::vector<std::thread> threads;
      for (int t = 0; t < 3; ++t) {
        threads.emplace_back([t] {
          for (int i = 0; i < 3000; ++i) {
            SignalChannel mine(1);
            ASSERT_TRUE(Notify(mine, {t == 0 ? SIGHUP : SIGWINCH}).ok());
            raise(SIGUSR1);
            Stop(mine);
          }
        });
      }
      for (auto& t : threads) t.join();
    });
    g_make_waiter = false;
    while (!waiter_done.load()) usleep(1000);
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// --- 3. A stop signal's default action drops a chaining host's handler. ---
//
// A host installs its handler for SIGTSTP after portsig's, chaining to
// portsig's; Stop then leaves the host's handler in place (its choice
// stands). The next SIGTSTP runs the host's handler, which chains into
// portsig's; unwanted, that takes the default action: TakeDefaultAction
// saves the current disposition (the host's handler, not portsig's), puts
// SIG_DFL, stops, and on resuming reinstalls what it saved only if portsig
// still has its own handler installed, which it has not. So SIG_DFL stays
// and the host's handler is gone for good.

std::atomic<int> g_tstp_host_calls{0};
struct sigaction g_tstp_replaced;
void ChainingTstpHost(int signo, siginfo_t* info, void* context) {
  g_tstp_host_calls++;
  if (g_tstp_replaced.sa_flags & SA_SIGINFO) {
    g_tstp_replaced.sa_sigaction(signo, info, context);
  }
}

TEST(HarnessRegressionTest, StopSignalKeepsAChainingHostsHandler) {
  auto status = testing::RunInChild(
      [] {
        SignalChannel ch(1);
        ASSERT_TRUE(Notify(ch, {SIGTSTP}).ok());
        struct sigaction host = {};
        host.sa_sigaction = &ChainingTstpHost;
        host.sa_flags = SA_SIGINFO | SA_RESTART;
        sigfillset(&host.sa_mask);
        sigaction(SIGTSTP, &host, &g_tstp_replaced);
        Stop(ch);
        raise(SIGTSTP);  // Stops (or, in an orphaned group, is discarded).
        EXPECT_EQ(g_tstp_host_calls.load(), 1);
        struct sigaction now;
        sigaction(SIGTSTP, nullptr, &now);
        EXPECT_TRUE((now.sa_flags & SA_SIGINFO) &&
                    now.sa_sigaction == &ChainingTstpHost)
            << "the host's SIGTSTP handler was replaced";
      },
      /*continue_stopped=*/true);
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
