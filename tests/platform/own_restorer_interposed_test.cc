// platform/own_restorer.h where something stands between portsig and the C
// library's sigaction(), as a sanitizer runtime's interceptor (a TSan or
// MSan program linking a portsig built without it), the JVM's libjsig or a
// preloaded library does: portsig's installation goes through it like any
// other, so the interposer sees it (TSan's wraps the handler it is given;
// libjsig keeps the JVM's in place and chains), and portsig's handler,
// without its own restorer, reads the disposition as before. Going around
// it with rt_sigaction(2) left the interposer believing the disposition it
// last saw.
//
// This binary's own sigaction() is the interposer: it counts the
// installations it passes on to the next one (a sanitizer runtime's under
// --config=asan or tsan, else the C library's). Each case runs in a forked
// child: it changes SIGUSR1's disposition.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/own_restorer.h"
#include "tests/testing/child_process.h"

namespace {

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

// Installations of a handler (not SIG_DFL or SIG_IGN) for SIGUSR1 that
// this binary's sigaction() passed on, and the last handler it installed.
std::atomic<int> g_usr1_handler_installs{0};
std::atomic<void*> g_usr1_last_handler{nullptr};

// The next sigaction() after this binary's. Resolved on the first call,
// which comes before main() and before any signal (dlsym is not
// async-signal-safe; portsig's handler reads the disposition through this).
SigactionFn Next() {
  static const SigactionFn next =
      reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
  return next;
}
[[maybe_unused]] const SigactionFn g_next_before_main = Next();

}  // namespace

extern "C" int sigaction(int signo, const struct sigaction* action,
                         struct sigaction* old) noexcept {
  if (action != nullptr && signo == SIGUSR1 && action->sa_handler != SIG_DFL &&
      action->sa_handler != SIG_IGN) {
    g_usr1_handler_installs.fetch_add(1);
    g_usr1_last_handler.store(reinterpret_cast<void*>(action->sa_handler));
  }
  return Next()(signo, action, old);
}

namespace portsig {
namespace platform {
namespace {

using testing::RunInChild;

std::atomic<int> g_runs{0};
std::atomic<bool> g_own_restorer{false};
std::atomic<int> g_value{0};

void Recorder(int, siginfo_t* info, void*) {
  g_own_restorer.store(IsOwnRestorer(__builtin_return_address(0)));
  g_value.store(info->si_value.sival_int);
  g_runs.fetch_add(1);
}

TEST(OwnRestorerInterposedTest, TheInterposerSeesTheInstallation) {
  auto status = RunInChild([] {
    EXPECT_FALSE(HasOwnRestorer());
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = &Recorder;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    const int installs = g_usr1_handler_installs.load();
    ASSERT_EQ(SigactionWithOwnRestorer(SIGUSR1, action), 0);
    EXPECT_EQ(g_usr1_handler_installs.load(), installs + 1);
    EXPECT_EQ(g_usr1_last_handler.load(),
              reinterpret_cast<void*>(action.sa_sigaction));
    sigval v;
    v.sival_int = 17;
    ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
    ASSERT_EQ(g_runs.load(), 1);
    EXPECT_EQ(g_value.load(), 17);
    EXPECT_FALSE(g_own_restorer.load());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Through the public API: Notify's installation of portsig's handler
// reaches the interposer, and a signal still comes with its siginfo.
TEST(OwnRestorerInterposedTest, NotifysInstallationReachesTheInterposer) {
  auto status = RunInChild([] {
    const int installs = g_usr1_handler_installs.load();
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    EXPECT_EQ(g_usr1_handler_installs.load(), installs + 1);
    struct sigaction now;
    ASSERT_EQ(sigaction(SIGUSR1, nullptr, &now), 0);
    EXPECT_EQ(g_usr1_last_handler.load(),
              reinterpret_cast<void*>(now.sa_handler));
    sigval v;
    v.sival_int = 23;
    ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
    const std::optional<Delivery> delivery =
        ch.ReceiveDeliveryFor(absl::Seconds(60));
    ASSERT_TRUE(delivery.has_value()) << "the signal never came";
    EXPECT_EQ(delivery->sender_pid, getpid());
    ASSERT_TRUE(delivery->value.has_value());
    EXPECT_EQ(delivery->value->sival_int, 23);
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace platform
}  // namespace portsig
