// The public surface of issue 16: ReceiveUntil and WaitUntil (deadlines as
// absl::Time, beside the Duration forms); SignalContext as a movable value,
// and its ReadyFd. Built once per backend. Every test
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
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/proc_tasks.h"
#include "tests/testing/readable.h"

namespace portsig {
namespace {

using ::portsig::testing::PollUntilReadable;
using ::portsig::testing::RaiseAndDispatch;
using ::portsig::testing::Readable;
using ::portsig::testing::RunInChild;

// A receive that should not wait but does is caught by this, well before
// RunInChild's own watchdog.
constexpr unsigned kWatchdogSeconds = 20;

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
    EXPECT_FALSE(ctx->WaitUntil(absl::InfinitePast()));
    EXPECT_FALSE(ctx->WaitUntil(absl::Now() - absl::Seconds(1)));
    RaiseAndDispatch(SIGUSR1);
    EXPECT_TRUE(ctx->WaitUntil(absl::InfinitePast()));
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
      result = ctx->WaitUntil(absl::Now() + absl::Hours(1));
    });
    while (waiter_tid.load() == 0) sched_yield();
    testing::WaitUntilBlocked(waiter_tid.load());
    ASSERT_EQ(raise(SIGUSR1), 0);
    waiter.join();
    EXPECT_TRUE(result);
    EXPECT_EQ(ctx->signal(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A moved context is the same subscription: the signal still reaches it
// (SIGUSR1's default action would otherwise end the child), and what it
// knows once done moves with it.
TEST(SignalContextMoveTest, MovingKeepsItSubscribedAndDone) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    absl::StatusOr<SignalContext> made = NotifyContext({SIGUSR1});
    ASSERT_TRUE(made.ok()) << made.status();
    SignalContext moved = *std::move(made);
    EXPECT_FALSE(moved.done());
    ASSERT_EQ(raise(SIGUSR1), 0);
    moved.Wait();
    EXPECT_EQ(moved.signal(), Signal(SIGUSR1));
    SignalContext again(std::move(moved));
    EXPECT_TRUE(again.done());
    EXPECT_EQ(again.signal(), Signal(SIGUSR1));
    EXPECT_EQ(again.status().message(), "SIGUSR1 signal received");
    // Still holding SIGUSR1 after the moves: a second one is absorbed.
    RaiseAndDispatch(SIGUSR1);
    EXPECT_EQ(again.signal(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(SignalContextMoveTest, AMovedFromContextsDestructorDoesNothing) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    std::optional<SignalContext> from;
    {
      absl::StatusOr<SignalContext> made = NotifyContext({SIGUSR1});
      ASSERT_TRUE(made.ok()) << made.status();
      from.emplace(*std::move(made));
    }  // `made` held a moved-from context too.
    SignalContext to = *std::move(from);
    from.reset();  // Destroys the moved-from context.
    EXPECT_FALSE(to.done()) << to.status();
    // Still subscribed: the signal makes it done, rather than killing us.
    ASSERT_EQ(raise(SIGUSR1), 0);
    to.Wait();
    EXPECT_EQ(to.signal(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(SignalContextMoveTest, AssigningStopsTheContextItHeld) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    absl::StatusOr<SignalContext> held = NotifyContext({SIGUSR2});
    ASSERT_TRUE(held.ok()) << held.status();
    // A child of the held context shows that it was stopped.
    absl::StatusOr<SignalContext> child = NotifyContext({SIGUSR2}, &*held);
    ASSERT_TRUE(child.ok()) << child.status();
    absl::StatusOr<SignalContext> other = NotifyContext({SIGUSR1});
    ASSERT_TRUE(other.ok()) << other.status();
    *held = *std::move(other);
    EXPECT_TRUE(child->done());
    EXPECT_EQ(child->status().message(), "parent context done");
    EXPECT_FALSE(held->done()) << held->status();
    ASSERT_EQ(raise(SIGUSR1), 0);
    held->Wait();
    EXPECT_EQ(held->signal(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(SignalContextMoveTest, AMovedParentKeepsItsChildren) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    absl::StatusOr<SignalContext> parent = NotifyContext({SIGUSR1});
    ASSERT_TRUE(parent.ok()) << parent.status();
    absl::StatusOr<SignalContext> child = NotifyContext({SIGUSR2}, &*parent);
    ASSERT_TRUE(child.ok()) << child.status();
    SignalContext moved = *std::move(parent);
    EXPECT_FALSE(child->done());
    ASSERT_EQ(raise(SIGUSR1), 0);
    moved.Wait();
    child->Wait();
    EXPECT_EQ(child->status().message(), "parent context done");
    // A moved-from parent is refused, by name, rather than dereferenced.
    absl::StatusOr<SignalContext> orphan = NotifyContext({SIGUSR2}, &*parent);
    EXPECT_EQ(orphan.status().code(), absl::StatusCode::kInvalidArgument);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(SignalContextReadyFdTest, ReadableAtTheSignalAndStaysReadable) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    absl::StatusOr<SignalContext> ctx = NotifyContext({SIGUSR1});
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    absl::StatusOr<int> fd = ctx->ReadyFd();
    ASSERT_TRUE(fd.ok()) << fd.status();
    EXPECT_FALSE(Readable(*fd));
    ASSERT_EQ(raise(SIGUSR1), 0);
    PollUntilReadable(*fd);
    EXPECT_TRUE(ctx->done());
    EXPECT_EQ(ctx->signal(), Signal(SIGUSR1));
    // Polling, waiting and looking consume nothing: done stays readable.
    ctx->Wait();
    EXPECT_TRUE(Readable(*fd));
    EXPECT_TRUE(Readable(*fd));
    EXPECT_EQ(*ctx->ReadyFd(), *fd);  // Created once.
    // The descriptor moves with the context.
    SignalContext moved = *std::move(ctx);
    EXPECT_EQ(*moved.ReadyFd(), *fd);
    EXPECT_TRUE(Readable(*fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(SignalContextReadyFdTest, MadeAfterDoneOrByStopIsReadable) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    absl::StatusOr<SignalContext> signalled = NotifyContext({SIGUSR1});
    ASSERT_TRUE(signalled.ok()) << signalled.status();
    ASSERT_EQ(raise(SIGUSR1), 0);
    signalled->Wait();
    absl::StatusOr<int> fd = signalled->ReadyFd();
    ASSERT_TRUE(fd.ok()) << fd.status();
    EXPECT_TRUE(Readable(*fd));

    absl::StatusOr<SignalContext> stopped = NotifyContext({SIGUSR2});
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    absl::StatusOr<int> stopped_fd = stopped->ReadyFd();
    ASSERT_TRUE(stopped_fd.ok()) << stopped_fd.status();
    EXPECT_FALSE(Readable(*stopped_fd));
    stopped->Stop();
    EXPECT_TRUE(Readable(*stopped_fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// As a channel's: a forked child's context gets a descriptor of its own, so
// the child's signal does not make the parent's readable, and the parent's
// stays as it was.
TEST(SignalContextReadyFdTest, AForkedChildGetsItsOwnDescriptor) {
  auto status = RunInChild([] {
    alarm(kWatchdogSeconds);
    absl::StatusOr<SignalContext> ctx = NotifyContext({SIGUSR1});
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    absl::StatusOr<int> parent_fd = ctx->ReadyFd();
    ASSERT_TRUE(parent_fd.ok()) << parent_fd.status();
    auto child = RunInChild([&] {
      absl::StatusOr<int> child_fd = ctx->ReadyFd();
      ASSERT_TRUE(child_fd.ok()) << child_fd.status();
      EXPECT_FALSE(Readable(*child_fd));
#ifdef PORTSIG_TSAN
      // TSan runs no handler in a child forked from a process whose
      // portsig threads run: the child's context ends by Stop instead.
      ctx->Stop();
      PollUntilReadable(*child_fd);
#else
      ASSERT_EQ(raise(SIGUSR1), 0);
      PollUntilReadable(*child_fd);
      EXPECT_EQ(ctx->signal(), Signal(SIGUSR1));
#endif
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    EXPECT_FALSE(Readable(*parent_fd))
        << "the child's signal made the parent's ReadyFd readable";
    EXPECT_FALSE(ctx->done());
    ASSERT_EQ(raise(SIGUSR1), 0);
    PollUntilReadable(*parent_fd);
    EXPECT_EQ(*ctx->ReadyFd(), *parent_fd);
    // Done before the fork: the child's own descriptor is readable at once.
    auto done_child = RunInChild([&] {
      absl::StatusOr<int> child_fd = ctx->ReadyFd();
      ASSERT_TRUE(child_fd.ok()) << child_fd.status();
      EXPECT_TRUE(Readable(*child_fd));
    });
    EXPECT_TRUE(done_child.exited_ok()) << done_child.ToString();
    EXPECT_TRUE(Readable(*parent_fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
