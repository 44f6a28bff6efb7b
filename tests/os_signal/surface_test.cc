// The public surface of issue 16: ReceiveUntil and WaitUntil (deadlines as
// absl::Time, beside the Duration forms). Built once per backend. Every test
// that raises a signal does so in a forked child (RunInChild), so a default
// action can only kill the child; the child's watchdog turns a receive that
// ignores its deadline into a failure.
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

using ::portsig::testing::RunInChild;

// A receive that should not wait but does is caught by this, well before
// RunInChild's own watchdog.
constexpr unsigned kWatchdogSeconds = 20;

// Returns once every signal already raised has been fanned out: Stop of a
// registered channel delivers what is queued first.
void WaitForDispatch() {
  SignalChannel barrier(1);
  ASSERT_TRUE(Notify(barrier, {SIGURG}).ok());
  Stop(barrier);
}

void RaiseAndDispatch(int signo) {
  ASSERT_EQ(raise(signo), 0);
  WaitForDispatch();
}

TEST(ReceiveUntilTest, APastDeadlineReturnsAtOnce) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    EXPECT_EQ(ch.ReceiveUntil(absl::Now() - absl::Seconds(1)), std::nullopt);
    EXPECT_EQ(ch.ReceiveUntil(absl::InfinitePast()), std::nullopt);
    EXPECT_EQ(ch.ReceiveDeliveryUntil(absl::InfinitePast()), std::nullopt);
    SignalChannel unbuffered(0);
    ASSERT_TRUE(Notify(unbuffered, {SIGUSR2}).ok());
    EXPECT_EQ(unbuffered.ReceiveUntil(absl::InfinitePast()), std::nullopt);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ReceiveUntilTest, APastDeadlineStillTakesABufferedSignal) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    SignalChannel ch(2);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}).ok());
    RaiseAndDispatch(SIGUSR1);
    RaiseAndDispatch(SIGUSR2);
    EXPECT_EQ(ch.ReceiveUntil(absl::InfinitePast()), Signal(SIGUSR1));
    std::optional<Delivery> d = ch.ReceiveDeliveryUntil(absl::InfinitePast());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->signal, Signal(SIGUSR2));
    EXPECT_EQ(d->sender_pid, getpid());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ReceiveUntilTest, AFutureDeadlineReturnsTheSignal) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    RaiseAndDispatch(SIGUSR1);
    EXPECT_EQ(ch.ReceiveUntil(absl::Now() + absl::Hours(1)), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Unbuffered: the signal reaches only a receiver blocked in ReceiveUntil,
// so this one must be waiting, not returning at once.
TEST(ReceiveUntilTest, AFutureDeadlineWaitsForTheSignal) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    static SignalChannel ch(0);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    static std::atomic<bool> done{false};
    static std::optional<Signal> got;
    std::thread receiver([] {
      got = ch.ReceiveUntil(absl::Now() + absl::Hours(1));
      done = true;
    });
    // Each signal sent before the receiver blocks is dropped; send until
    // one reaches it.
    while (!done.load()) RaiseAndDispatch(SIGUSR1);
    receiver.join();
    EXPECT_EQ(got, Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(WaitUntilTest, APastDeadlineSaysWhetherDoneNow) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    auto ctx = NotifyContext({SIGUSR1});
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    EXPECT_FALSE((*ctx)->WaitUntil(absl::InfinitePast()));
    EXPECT_FALSE((*ctx)->WaitUntil(absl::Now() - absl::Seconds(1)));
    RaiseAndDispatch(SIGUSR1);
    EXPECT_TRUE((*ctx)->WaitUntil(absl::InfinitePast()));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The waiter is asleep in WaitUntil before the signal comes, so it must
// have waited rather than returned at once.
TEST(WaitUntilTest, AFutureDeadlineWaitsForTheSignal) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    static auto ctx = NotifyContext({SIGUSR1});
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    static std::atomic<pid_t> waiter_tid{0};
    static bool result = false;
    std::thread waiter([] {
      waiter_tid = static_cast<pid_t>(syscall(SYS_gettid));
      result = (*ctx)->WaitUntil(absl::Now() + absl::Hours(1));
    });
    while (waiter_tid.load() == 0) sched_yield();
    testing::WaitUntilInFutex(waiter_tid.load());
    ASSERT_EQ(raise(SIGUSR1), 0);
    waiter.join();
    EXPECT_TRUE(result);
    EXPECT_EQ((*ctx)->signal(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
