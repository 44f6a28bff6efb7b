// Ignore of a signal that channels are relaying must go straight from
// portsig's handler to SIG_IGN. Restoring the original disposition first,
// even briefly, lets a SIGTERM in between kill a process that asked to
// ignore it. A test hook sees every disposition the runtime sets.
#include <signal.h>

#include <atomic>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

std::atomic<int> g_default_seen{0};
std::atomic<int> g_changes{0};

void RecordDisposition(int signo) {
  struct sigaction now;
  sigaction(signo, nullptr, &now);
  g_changes.fetch_add(1);
  if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL) {
    g_default_seen.fetch_add(1);
  }
}

TEST(IgnoreWindowTest, IgnoreNeverPassesThroughTheDefaultAction) {
  auto status = testing::RunInChild([] {
    SignalChannel a(1), b(1);
    ASSERT_TRUE(Notify(a, {SIGTERM}).ok());
    ASSERT_TRUE(Notify(b, {SIGTERM, SIGUSR1}).ok());
    test_hooks::disposition_changed.store(&RecordDisposition);
    ASSERT_TRUE(Ignore({SIGTERM}).ok());
    test_hooks::disposition_changed.store(nullptr);
    EXPECT_GE(g_changes.load(), 1);  // The hook saw SIG_IGN go in.
    EXPECT_EQ(g_default_seen.load(), 0)
        << "SIGTERM's default action was in place during Ignore";
    EXPECT_TRUE(Ignored(SIGTERM));
    raise(SIGTERM);  // Ignored: survives.
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
