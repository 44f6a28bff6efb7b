// A host thread with a deferred cancellation pending (pthread_cancel while
// it ran its own code) calls into portsig. Notify, Stop, Reset, Ignore and
// NotifyContext wait inside (for the mask thread to change its mask, which
// is pthread_cond_wait, a cancellation point): the cancellation used to act
// there, unwinding out of the call half done. A Stop left its channel
// listed for the signals it had not yet dropped, and the channel, freed by
// the host, was then delivered into.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

using testing::RunInChild;

// Runs `body` on a thread that has a cancellation pending from its start;
// returns whether `body` returned (the thread is then cancelled at the
// pthread_testcancel after it).
bool ReturnsWithCancellationPending(const std::function<void()>& body) {
  struct Run {
    const std::function<void()>* body;
    std::atomic<bool> returned{false};
  } run;
  run.body = &body;
  pthread_t thread;
  EXPECT_EQ(pthread_create(
                &thread, nullptr,
                [](void* arg) -> void* {
                  auto* r = static_cast<Run*>(arg);
                  pthread_cancel(pthread_self());  // Pending: deferred.
                  (*r->body)();
                  r->returned.store(true);
                  pthread_testcancel();
                  return nullptr;
                },
                &run),
            0);
  void* result = nullptr;
  pthread_join(thread, &result);
  EXPECT_EQ(result, PTHREAD_CANCELED);
  return run.returned.load();
}

bool IsDefault(int signo) {
  struct sigaction now;
  sigaction(signo, nullptr, &now);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
}

// SIGWINCH and SIGURG are restored at once (their default is to do
// nothing), so Stop closes them on the mask thread and waits for it.
TEST(CancellationPendingTest, StopFinishes) {
  auto status = RunInChild([] {
    auto ch = std::make_unique<SignalChannel>(1);
    ASSERT_TRUE(Notify(*ch, {SIGWINCH, SIGURG, SIGUSR2}).ok());
    EXPECT_TRUE(ReturnsWithCancellationPending([&] { Stop(*ch); }))
        << "Stop was cancelled part way";
    ch.reset();  // The host frees what it stopped.
    EXPECT_TRUE(IsDefault(SIGWINCH));
    EXPECT_TRUE(IsDefault(SIGURG));
    SignalChannel other(1);
    ASSERT_TRUE(Notify(other, {SIGUSR2, SIGURG}).ok());
    raise(SIGURG);  // Fans out to whatever still wants SIGURG.
    EXPECT_EQ(other.ReceiveFor(absl::Seconds(10)), Signal(SIGURG));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancellationPendingTest, NotifyFinishes) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    absl::Status notified;
    EXPECT_TRUE(ReturnsWithCancellationPending([&] {
      notified = Notify(ch, {SIGUSR1, SIGUSR2});
    })) << "Notify was cancelled part way";
    EXPECT_TRUE(notified.ok()) << notified;
    raise(SIGUSR2);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(10)), Signal(SIGUSR2));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancellationPendingTest, ResetAndIgnoreFinish) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGWINCH, SIGURG, SIGUSR1}).ok());
    absl::Status reset;
    EXPECT_TRUE(ReturnsWithCancellationPending([&] {
      reset = Reset({SIGWINCH, SIGURG});
    })) << "Reset was cancelled part way";
    EXPECT_TRUE(reset.ok()) << reset;
    EXPECT_TRUE(IsDefault(SIGWINCH));
    EXPECT_TRUE(IsDefault(SIGURG));
    absl::Status ignored;
    EXPECT_TRUE(ReturnsWithCancellationPending([&] {
      ignored = Ignore({SIGUSR1});
    })) << "Ignore was cancelled part way";
    EXPECT_TRUE(ignored.ok()) << ignored;
    EXPECT_TRUE(Ignored(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(CancellationPendingTest, NotifyContextFinishes) {
  auto status = RunInChild([] {
    absl::StatusOr<SignalContext> ctx = absl::UnknownError("not made");
    EXPECT_TRUE(ReturnsWithCancellationPending([&] {
      ctx = NotifyContext({SIGUSR1});
    })) << "NotifyContext was cancelled part way";
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    raise(SIGUSR1);
    EXPECT_TRUE(ctx->WaitFor(absl::Seconds(10)));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
