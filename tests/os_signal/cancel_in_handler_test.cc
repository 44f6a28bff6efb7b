// A thread cancelled (pthread_cancel) while portsig's handler runs on it,
// having interrupted one of the thread's waits. A wait that is a
// cancellation point (a receiver's sleep in Receive, and glibc's own
// cancellable calls, read or poll) switches the thread to asynchronous
// cancellation for the length of its system call, and a handler that
// interrupts the call runs with that type. pthread_cancel's signal is one
// glibc keeps out of every set sigfillset makes, so portsig's handler did
// not block it: the cancellation acted at whatever instruction the handler
// was at, and unwound out of it halfway (a signal taken from the kernel
// and never queued, a count of senders in flight never taken back, which
// Stop then waited for forever, the note backend's lock never let go).
// Now the handler's mask blocks the C library's own signals too, and the
// cancellation acts as the handler returns, back in the wait.
//
// Also: the wait gives the caller back its own cancellation type.
//
// Each test runs in a child (signals, cancellation, a watchdog). The
// handler is held at a hook on the receiver's thread until the
// cancellation has been sent.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

using testing::RunInChild;

pid_t Tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

std::atomic<pid_t> g_receiver_tid{0};
std::atomic<bool> g_looked{false};
// 0: not yet in the handler; 1: held there; 2: let go.
std::atomic<int> g_stage{0};
std::atomic<bool> g_hook_returned{false};

void MarkLooked(int) {
  if (Tid() == g_receiver_tid.load()) g_looked.store(true);
}

// In portsig's handler, on the receiver's thread, once: held until the
// main thread has sent the cancellation.
void HoldInHandler(int) {
  if (Tid() != g_receiver_tid.load() || g_stage.load() != 0) return;
  g_stage.store(1);
  while (g_stage.load() != 2) {
  }
  g_hook_returned.store(true);
}

// A host's handler installed over portsig's, calling it (a chain), with
// the mask sigfillset makes: the C library's own signals not in it.
struct sigaction g_portsigs;
void HostHandler(int signo, siginfo_t* info, void* context) {
  g_portsigs.sa_sigaction(signo, info, context);
}

void InstallChainingHostHandler() {
  struct sigaction host;
  std::memset(&host, 0, sizeof(host));
  host.sa_sigaction = &HostHandler;
  host.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&host.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &host, &g_portsigs), 0);
}

void* ReceiveForEver(void* channel) {
  g_receiver_tid.store(Tid());
  (void)static_cast<SignalChannel*>(channel)->Receive();
  return nullptr;
}

// The receiver blocked in Receive; SIGUSR1 sent to its thread; the handler
// held at `hook` (which must fire in the handler for SIGUSR1) while the
// thread is cancelled. The handler must finish, the signal reach the
// channel (the cancelled receiver's leaving delivers it), and portsig go on
// working. Without the fix the hook never returned.
// With `chained`, a host's handler over portsig's calls it.
void CancelWhileTheHandlerRuns(std::atomic<test_hooks::Hook>* hook,
                               bool chained = false) {
  auto status = RunInChild([hook, chained] {
    alarm(60);
    SignalChannel channel(2);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    if (chained) InstallChainingHostHandler();
    test_hooks::receiver_slot_looked.store(&MarkLooked);
    pthread_t receiver;
    ASSERT_EQ(pthread_create(&receiver, nullptr, &ReceiveForEver, &channel), 0);
    while (!g_looked.load()) sched_yield();
    testing::WaitUntilBlocked(g_receiver_tid.load());
    hook->store(&HoldInHandler);
    // Sent again while the handler has not reached the hook: TSan, which
    // runs a handler late, from its own code, now and then never runs it
    // for a signal (RELIABILITY.md, Limits of the harnesses). A second one
    // is harmless: the hook holds only the first, and the channel has room.
    for (int waited = 0; g_stage.load() != 1; ++waited) {
      if (waited % 100 == 0) {
        ASSERT_EQ(syscall(SYS_tgkill, getpid(), g_receiver_tid.load(), SIGUSR1),
                  0);
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(pthread_cancel(receiver), 0);
    g_stage.store(2);
    void* result = nullptr;
    ASSERT_EQ(pthread_join(receiver, &result), 0);
    hook->store(nullptr);
    test_hooks::receiver_slot_looked.store(nullptr);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    ASSERT_TRUE(g_hook_returned.load())
        << "the cancellation unwound out of portsig's handler";
    EXPECT_EQ(channel.ReceiveFor(absl::Seconds(20)), Signal(SIGUSR1));
    // Still working: another signal, and Stop (which waits for every
    // sender in flight) returns.
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(channel.ReceiveFor(absl::Seconds(20)), Signal(SIGUSR1));
    Stop(channel);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Held in the sender's count (after its check that the signal is wanted,
// before it queues it): unwound there, the signal was lost and the count
// stayed up.
TEST(CancelInHandlerTest, ACancellationWaitsForTheHandlerToQueue) {
  CancelWhileTheHandlerRuns(&test_hooks::after_wanted_check);
}

// Held after the handler woke the receiver (its own slot).
TEST(CancelInHandlerTest, ACancellationWaitsForTheHandlerAfterThePick) {
  CancelWhileTheHandlerRuns(&test_hooks::receiver_picked);
}

// portsig's handler called by a host's handler installed over it, whose
// mask does not hold pthread_cancel's signal.
TEST(CancelInHandlerTest, ACancellationWaitsForTheHandlerAHostChainsTo) {
  CancelWhileTheHandlerRuns(&test_hooks::after_wanted_check,
                            /*chained=*/true);
}

// The fast path: portsig's own installation has the kernel block them, so
// its handler, called by the kernel, makes no system call for it.
TEST(CancelInHandlerTest, PortsigsDispositionBlocksTheCLibrarysOwnSignals) {
#if defined(__GLIBC__)
  auto status = RunInChild([] {
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    struct sigaction now;
    ASSERT_EQ(sigaction(SIGUSR1, nullptr, &now), 0);
    constexpr int kBits = 8 * sizeof(now.sa_mask.__val[0]);
    ASSERT_LT(__SIGRTMIN, SIGRTMIN);
    for (int s = __SIGRTMIN; s < SIGRTMIN; ++s) {
      EXPECT_NE((now.sa_mask.__val[(s - 1) / kBits] >> ((s - 1) % kBits)) & 1,
                0u)
          << "signal " << s << " not in portsig's sa_mask";
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
#else
  GTEST_SKIP() << "no signals reserved by this C library";
#endif
}

// The receiver's wait switches the thread to asynchronous cancellation for
// its system call and back to what the caller had: a host that set the
// asynchronous type itself (with cancellation disabled, so that it cannot
// act here) keeps it after Receive, and one with the deferred type keeps
// that. The signal comes while the receiver is inside the wait's system
// call, so the switch is made. Mutation: the wait putting back the deferred
// type whatever the caller had left the host's asynchronous type deferred.
struct CancelSettings {
  int state;
  int type;
};
std::atomic<int> g_got{0};

void* ReceiveWithSettings(void* arg) {
  const auto* settings = static_cast<const CancelSettings*>(arg);
  pthread_setcancelstate(settings->state, nullptr);
  pthread_setcanceltype(settings->type, nullptr);
  g_receiver_tid.store(Tid());
  SignalChannel channel(1);
  if (!Notify(channel, {SIGUSR1}).ok()) return nullptr;
  g_got.store(channel.Receive().number());
  int state = -1, type = -1;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
  pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
  Stop(channel);
  return new CancelSettings{state, type};
}

void ExpectReceiveKeeps(CancelSettings settings) {
  auto status = RunInChild([settings] {
    alarm(60);
    test_hooks::receiver_slot_looked.store(&MarkLooked);
    pthread_t receiver;
    CancelSettings asked = settings;
    ASSERT_EQ(pthread_create(&receiver, nullptr, &ReceiveWithSettings, &asked),
              0);
    while (!g_looked.load()) sched_yield();
    testing::WaitUntilBlocked(g_receiver_tid.load());
    ASSERT_EQ(syscall(SYS_tgkill, getpid(), g_receiver_tid.load(), SIGUSR1), 0);
    void* result = nullptr;
    ASSERT_EQ(pthread_join(receiver, &result), 0);
    test_hooks::receiver_slot_looked.store(nullptr);
    EXPECT_EQ(g_got.load(), SIGUSR1);
    ASSERT_NE(result, nullptr);
    ASSERT_NE(result, PTHREAD_CANCELED);
    std::unique_ptr<const CancelSettings> after(
        static_cast<const CancelSettings*>(result));
    EXPECT_EQ(after->state, settings.state);
    EXPECT_EQ(after->type, settings.type);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancelInHandlerTest, ReceiveKeepsTheHostsAsynchronousType) {
  ExpectReceiveKeeps({PTHREAD_CANCEL_DISABLE, PTHREAD_CANCEL_ASYNCHRONOUS});
}

TEST(CancelInHandlerTest, ReceiveKeepsTheDeferredType) {
  ExpectReceiveKeeps({PTHREAD_CANCEL_ENABLE, PTHREAD_CANCEL_DEFERRED});
}

// A cancellation already pending when Receive begins (deferred, enabled)
// acts in its wait: glibc sends no signal for a deferred cancellation, so
// it is the switch to the asynchronous type around the wait that acts on
// it. With cancellation disabled by the host it stays pending through
// Receive, which returns the signal, and acts at the host's next
// cancellation point. Mutations: the wait without its asynchronous window
// (a plain futex wait) slept for ever with the cancellation pending (the
// watchdog); Receive enabling cancellation whatever the host had set
// cancelled the disabled receiver in its wait.
std::atomic<bool> g_receive_returned{false};
SignalChannel* g_pending_channel = nullptr;

void* CancelPendingThenReceive(void* disable) {
  g_receiver_tid.store(Tid());
  if (disable != nullptr) {
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  }
  pthread_cancel(pthread_self());  // Pending.
  g_got.store(g_pending_channel->Receive().number());
  g_receive_returned.store(true);
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
  pthread_testcancel();
  return nullptr;
}

void ReceiveWithACancellationPending(bool disabled) {
  auto status = RunInChild([disabled] {
    alarm(60);
    SignalChannel channel(2);
    g_pending_channel = &channel;
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    test_hooks::receiver_slot_looked.store(&MarkLooked);
    static int yes = 1;
    pthread_t receiver;
    ASSERT_EQ(pthread_create(&receiver, nullptr, &CancelPendingThenReceive,
                             disabled ? &yes : nullptr),
              0);
    if (disabled) {
      while (!g_looked.load()) sched_yield();
      testing::WaitUntilBlocked(g_receiver_tid.load());
      ASSERT_EQ(syscall(SYS_tgkill, getpid(), g_receiver_tid.load(), SIGUSR1),
                0);
    }
    void* result = nullptr;
    ASSERT_EQ(pthread_join(receiver, &result), 0);
    test_hooks::receiver_slot_looked.store(nullptr);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_EQ(g_receive_returned.load(), disabled);
    if (disabled) {
      EXPECT_EQ(g_got.load(), SIGUSR1);
    }
    // The channel still works after its receiver was cancelled.
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(channel.ReceiveFor(absl::Seconds(20)), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancelInHandlerTest, APendingCancellationActsInReceivesWait) {
  ReceiveWithACancellationPending(/*disabled=*/false);
}

TEST(CancelInHandlerTest, APendingCancellationHeldOffByTheHostWaits) {
  ReceiveWithACancellationPending(/*disabled=*/true);
}

}  // namespace
}  // namespace portsig
