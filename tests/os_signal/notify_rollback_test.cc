// A Notify (or NotifyContext) that fails part way changes nothing: the
// signals it had already enabled are disabled again and their dispositions
// restored, and the subscriber is not left registered (for a context, whose
// state is freed on failure, a leftover registration would be a
// use-after-free at the next signal).
#include <signal.h>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

bool DefaultDisposition(int signo) {
  struct sigaction now;
  sigaction(signo, nullptr, &now);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
}

TEST(NotifyRollbackTest, FailedNotifyLeavesNothingBehind) {
  auto status = testing::RunInChild([] {
    test_hooks::fail_install_signo.store(SIGUSR2);
    SignalChannel c(1);
    absl::Status notified = Notify(c, {SIGUSR1, SIGUSR2});
    EXPECT_EQ(notified.code(), absl::StatusCode::kInternal) << notified;
    EXPECT_TRUE(DefaultDisposition(SIGUSR1))
        << "SIGUSR1 kept portsig's handler after a failed Notify";
    auto context = NotifyContext({SIGHUP, SIGUSR2});
    EXPECT_FALSE(context.ok());
    EXPECT_TRUE(DefaultDisposition(SIGHUP))
        << "SIGHUP kept portsig's handler after a failed NotifyContext";
    test_hooks::fail_install_signo.store(0);
    // A later Notify works normally.
    ASSERT_TRUE(Notify(c, {SIGUSR2}).ok());
    raise(SIGUSR2);
    EXPECT_EQ(c.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR2));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
