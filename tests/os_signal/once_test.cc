// NotifyOptions::once ("once, then default") on the backend PORTSIG_SIGQUEUE
// names. Every test runs in a forked child, since the point is that a
// second signal takes its default action.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using ::portsig::testing::CurrentAction;
using ::portsig::testing::RunInChild;
using ::portsig::testing::WaitForDisposition;
using ::portsig::testing::WaitForRestore;

NotifyOptions Once() {
  NotifyOptions options;
  options.once = true;
  return options;
}

TEST(OnceTest, SecondCtrlCTakesTheDefaultAction) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGINT}, Once()).ok());
    raise(SIGINT);
    EXPECT_EQ(ch.Receive(), Signal(SIGINT));
    // The dispatcher puts SIG_DFL back right after that delivery.
    WaitForRestore(SIGINT, SIG_DFL);
    raise(SIGINT);
    std::_Exit(3);  // Not reached: the second SIGINT kills.
  });
  EXPECT_TRUE(status.killed_by(SIGINT)) << status.ToString();
}

std::atomic<int> g_host_calls{0};
void HostHandler(int) { g_host_calls.fetch_add(1); }

// The once occurrence of `signo` reaches `ch`; the dispatcher then puts the
// host's `handler` back, and it takes the next one: its count is `calls`.
void ExpectOnceThenHost(SignalChannel& ch, int signo, void (*handler)(int),
                        const std::atomic<int>& count, int calls) {
  raise(signo);
  EXPECT_EQ(ch.Receive(), Signal(signo));
  WaitForRestore(signo, handler);
  raise(signo);
  EXPECT_EQ(count.load(), calls) << "signal " << signo;
}

TEST(OnceTest, SecondSignalGoesToTheHostHandlerFromBefore) {
  auto status = RunInChild([] {
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR1, &HostHandler));
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    ExpectOnceThenHost(ch, SIGUSR1, &HostHandler, g_host_calls, 1);
    Stop(ch);
    EXPECT_FALSE(ch.TryReceive().has_value());
    EXPECT_EQ(g_host_calls.load(), 1);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OnceTest, OtherChannelsKeepTheSignal) {
  auto status = RunInChild([] {
    SignalChannel once(4), always(4);
    ASSERT_TRUE(Notify(once, {SIGUSR1}, Once()).ok());
    ASSERT_TRUE(Notify(always, {SIGUSR1}).ok());
    raise(SIGUSR1);
    EXPECT_EQ(once.Receive(), Signal(SIGUSR1));
    EXPECT_EQ(always.Receive(), Signal(SIGUSR1));
    // Still portsig's: `always` wants it. The process survives this one.
    raise(SIGUSR1);
    EXPECT_EQ(always.Receive(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OnceTest, LaterNotifyWithoutOnceKeepsTheSignal) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());  // Latest options win.
    for (int i = 0; i < 3; ++i) {
      raise(SIGUSR1);
      EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OnceTest, ContextReleasesAllItsSignalsAtTheFirst) {
  auto status = RunInChild([] {
    auto context = NotifyContext({SIGINT, SIGTERM}, Once());
    ASSERT_TRUE(context.ok()) << context.status();
    raise(SIGINT);
    context->Wait();
    EXPECT_EQ(context->signal(), Signal(SIGINT));
    WaitForRestore(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    std::_Exit(3);  // Not reached.
  });
  EXPECT_TRUE(status.killed_by(SIGTERM)) << status.ToString();
}

// The race Stop closes, for once: a second occurrence whose sender read
// "wanted" before the dispatcher released the signal, and queued it only
// after the disposition was back. It must reach the channel (through the
// stopping list), not vanish. Hooks force that order:
//   1. the first SIGUSR1 is queued; the dispatcher waits before fanning out
//      until 2. the second SIGUSR1's sender has passed its wanted check,
//      and then waits for the release; 3. the dispatcher delivers the
//      first, releases once, puts SIG_DFL back; 4. the sender queues.
std::atomic<int> g_sends{0};
std::atomic<bool> g_second_past_check{false};

void AfterWantedCheck(int signo) {
  if (signo != SIGUSR1 || g_sends.fetch_add(1) != 1) return;
  g_second_past_check.store(true);
  // Async-signal-safe: sigaction and sched_yield only.
  WaitForDisposition(SIGUSR1, SIG_DFL);
}

void BeforeFanOut(int signo) {
  if (signo != SIGUSR1) return;
  while (!g_second_past_check.load()) sched_yield();
}

TEST(OnceTest, SecondSignalRacingTheReleaseReachesTheChannel) {
  auto status = RunInChild([] {
    test_hooks::after_wanted_check.store(&AfterWantedCheck);
    test_hooks::before_fan_out.store(&BeforeFanOut);
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    raise(SIGUSR1);
    raise(SIGUSR1);  // Returns once step 4 is done.
    // Stop of a parked channel waits until the queue is drained.
    Stop(ch);
    uint64_t occurrences = 0;
    while (std::optional<Delivery> got = ch.TryReceiveDelivery()) {
      occurrences += got->occurrences;
    }
    EXPECT_EQ(occurrences, 2u) << "the racing second SIGUSR1 was lost";
    EXPECT_EQ(ch.dropped(), 0u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

using testing::WaitForDispatch;

// Holds the thread that finishes a once release (the only caller of the
// stop_between_phases hook that is not the test's thread) until released,
// so its stopping-list entry stays.
std::atomic<pid_t> g_test_thread{0};
std::atomic<bool> g_release_finisher{false};
std::atomic<bool> g_finisher_held{false};
void HoldFinisher(int) {
  if (gettid() == g_test_thread.load()) return;
  g_finisher_held = true;
  while (!g_release_finisher.load()) sched_yield();
}

void HoldOnceFinishers() {
  g_test_thread.store(gettid());
  test_hooks::stop_between_phases.store(&HoldFinisher);
}

TEST(OnceTest, StopAlsoEndsAPendingOnceRelease) {
  auto status = RunInChild([] {
    HoldOnceFinishers();
    SignalChannel keep(8);  // Keeps SIGUSR1 handled.
    ASSERT_TRUE(Notify(keep, {SIGUSR1}).ok());
    SignalChannel ch(8);
    ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    Stop(ch);
    const uint64_t before = ch.delivered();
    raise(SIGUSR1);
    WaitForDispatch();
    EXPECT_EQ(ch.delivered(), before) << "delivered after Stop returned";
    g_release_finisher.store(true);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OnceTest, ParkedTwiceStillGetsOneDeliveryPerSignal) {
  auto status = RunInChild([] {
    HoldOnceFinishers();
    SignalChannel keep(8);
    ASSERT_TRUE(Notify(keep, {SIGUSR1}).ok());
    SignalChannel ch(8);
    for (int i = 0; i < 2; ++i) {  // Two releases, both still parked.
      ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
      raise(SIGUSR1);
      EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    }
    WaitForDispatch();
    const uint64_t before = ch.delivered();
    raise(SIGUSR1);
    WaitForDispatch();
    EXPECT_LE(ch.delivered() - before, 1u) << "one signal delivered twice";
    g_release_finisher.store(true);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OnceTest, ForkedChildDropsReleasesItCannotFinish) {
  auto status = RunInChild([] {
    HoldOnceFinishers();
    SignalChannel keep(8);
    ASSERT_TRUE(Notify(keep, {SIGUSR1}).ok());
    SignalChannel ch(8);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    // Fork only once the parent's other threads are quiet: the finisher
    // held in its hook and the dispatcher asleep. GCC 12's ASan does not
    // lock its allocator across fork(), so a thread still freeing or
    // starting up at that moment leaves the child's allocator locked.
    while (!g_finisher_held.load()) sched_yield();
    WaitForDispatch();
    auto child = RunInChild([&] {
      g_test_thread.store(gettid());  // A new thread id in the child.
      const uint64_t before = ch.delivered();
      for (int i = 0; i < 3; ++i) {
        raise(SIGUSR1);
        WaitForDispatch();
      }
      EXPECT_EQ(ch.delivered(), before)
          << "the parent's pending release kept relaying in the child";
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    g_release_finisher.store(true);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Issue 13, class 7: the release of a once subscription is complete before
// any receiver can see its first delivery. The hook keeps the thread that
// fans out from going on past the current subscribers until the test
// thread, which already holds the first delivery, has sent the second
// signal: a release that came after the fan-out would still find the
// second one wanted, and it would land, unread, in the once subscriber.
std::atomic<int> g_held_signo{0};
std::atomic<bool> g_second_sent{false};
// The thread that sends the second signal, which a receiver blocked in
// Receive may be: it then delivers (it sleeps on the queue, and the handler
// hands the signal to it) and cannot be held here, as its Receive returns
// only after the fan-out anyway.
pthread_t g_sender_thread;

void HoldAfterFanOut(int signo) {
  if (signo != g_held_signo.load()) return;
  if (pthread_equal(pthread_self(), g_sender_thread)) return;
  while (!g_second_sent.load()) sched_yield();
}

void HoldFanOutOf(int signo) {
  g_sender_thread = pthread_self();
  g_held_signo.store(signo);
  test_hooks::after_fan_out.store(&HoldAfterFanOut);
}

TEST(OnceTest, SecondCtrlCRightAfterReceiveTakesTheDefaultAction) {
  auto status = RunInChild([] {
    HoldFanOutOf(SIGINT);
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGINT}, Once()).ok());
    raise(SIGINT);
    EXPECT_EQ(ch.Receive(), Signal(SIGINT));
    raise(SIGINT);  // No wait for the restore: it must have happened.
    g_second_sent.store(true);
    std::_Exit(3);  // Not reached: the second SIGINT kills.
  });
  EXPECT_TRUE(status.killed_by(SIGINT)) << status.ToString();
}

TEST(OnceTest, SecondCtrlCRightAfterReadyFdTakesTheDefaultAction) {
  auto status = RunInChild([] {
    HoldFanOutOf(SIGINT);
    SignalChannel ch(1);
    absl::StatusOr<int> fd = ch.ReadyFd();
    ASSERT_TRUE(fd.ok()) << fd.status();
    ASSERT_TRUE(Notify(ch, {SIGINT}, Once()).ok());
    raise(SIGINT);
    struct pollfd ready = {*fd, POLLIN, 0};
    ASSERT_EQ(poll(&ready, 1, -1), 1);
    raise(SIGINT);
    g_second_sent.store(true);
    std::_Exit(3);  // Not reached.
  });
  EXPECT_TRUE(status.killed_by(SIGINT)) << status.ToString();
}

TEST(OnceTest, SecondSignalRightAfterReceiveGoesToTheHostHandler) {
  auto status = RunInChild([] {
    HoldFanOutOf(SIGUSR1);
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR1, &HostHandler));
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    // A host handler is put back at once, not after the restore delay.
    const struct sigaction now = CurrentAction(SIGUSR1);
    EXPECT_TRUE(!(now.sa_flags & SA_SIGINFO) && now.sa_handler == &HostHandler)
        << "portsig's handler still in place after the first delivery";
    raise(SIGUSR1);
    g_second_sent.store(true);
    EXPECT_EQ(g_host_calls.load(), 1);
    Stop(ch);
    EXPECT_FALSE(ch.TryReceive().has_value())
        << "the second SIGUSR1 reached the once channel";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OnceTest, ContextSecondSignalRightAfterWaitTakesTheDefaultAction) {
  auto status = RunInChild([] {
    HoldFanOutOf(SIGINT);
    auto context = NotifyContext({SIGINT, SIGTERM}, Once());
    ASSERT_TRUE(context.ok()) << context.status();
    raise(SIGINT);
    context->Wait();
    raise(SIGTERM);  // Released with SIGINT, at once.
    g_second_sent.store(true);
    std::_Exit(3);  // Not reached.
  });
  EXPECT_TRUE(status.killed_by(SIGTERM)) << status.ToString();
}

TEST(OnceTest, ADroppedFirstOccurrenceDoesNotCount) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    raise(SIGUSR2);  // Fills the channel,
    WaitForDispatch();
    raise(SIGUSR1);  // so this one is dropped, never seen.
    WaitForDispatch();
    EXPECT_EQ(ch.dropped(), 1u);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR2));
    // Still relayed: the channel has not had its first SIGUSR1 yet.
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    WaitForRestore(SIGUSR1, SIG_DFL);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

std::atomic<int> g_usr2_calls{0};
void Usr2Handler(int) { g_usr2_calls.fetch_add(1); }

// Once on two signals: releasing one leaves the other once (the channel's
// once entry, emptied only in part, stays: 13cf728 erases only an empty
// one). Notify again without once, and with it, and once on both followed
// by a plain Notify of one: latest options win per signal.
TEST(OnceTest, ReleasingOneOfTwoOnceSignalsKeepsTheOtherOnce) {
  auto status = RunInChild([] {
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR1, &HostHandler));
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR2, &Usr2Handler));
    SignalChannel ch(8);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}, Once()).ok());
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    WaitForRestore(SIGUSR1, &HostHandler);
    // Again, plain: SIGUSR1 every time; SIGUSR2 still once.
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    for (int i = 0; i < 3; ++i) {
      raise(SIGUSR1);
      EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    }
    EXPECT_EQ(g_host_calls.load(), 0);
    ExpectOnceThenHost(ch, SIGUSR2, &Usr2Handler, g_usr2_calls, 1);
    // Everything once is released now; SIGUSR1 stays plain.
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    // Once again on SIGUSR1 (latest options win).
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, Once()).ok());
    ExpectOnceThenHost(ch, SIGUSR1, &HostHandler, g_host_calls, 1);
    EXPECT_FALSE(ch.TryReceive().has_value());
    // Once on both, then a plain Notify of SIGUSR2 only: SIGUSR1 stays once.
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}, Once()).ok());
    ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    raise(SIGUSR2);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR2));
    raise(SIGUSR2);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR2));
    ExpectOnceThenHost(ch, SIGUSR1, &HostHandler, g_host_calls, 2);
    raise(SIGUSR2);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR2));
    EXPECT_EQ(g_usr2_calls.load(), 1);
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A once context and a once channel share SIGUSR1: its delivery releases
// the context and the channel's SIGUSR1, and the channel's SIGUSR2 stays
// once; a later once context on SIGUSR2 is released at its first too.
TEST(OnceTest, AOnceContextAndAOnceChannelShareASignal) {
  auto status = RunInChild([] {
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR2, &Usr2Handler));
    SignalChannel ch(8);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}, Once()).ok());
    auto ctx = NotifyContext({SIGUSR1, SIGUSR2}, Once());
    ASSERT_TRUE(ctx.ok());
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    ctx->Wait();
    EXPECT_EQ(ctx->signal(), Signal(SIGUSR1));
    ExpectOnceThenHost(ch, SIGUSR2, &Usr2Handler, g_usr2_calls, 1);
    auto ctx2 = NotifyContext({SIGUSR2}, Once());
    ASSERT_TRUE(ctx2.ok());
    raise(SIGUSR2);
    ctx2->Wait();
    EXPECT_EQ(g_usr2_calls.load(), 1);
    WaitForRestore(SIGUSR2, &Usr2Handler);
    raise(SIGUSR2);
    EXPECT_EQ(g_usr2_calls.load(), 2);
    ctx->Stop();
    ctx2->Stop();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
