// fork() from a process using portsig, while another thread keeps taking
// an unrelated absl::Mutex, must give children that run: portsig's
// pthread_atfork child handlers must not wait on anything another thread
// of the parent could have held at fork time (Debian's debug build of
// Abseil takes a process-wide spin lock on every Lock, for example).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

#if defined(__SANITIZE_ADDRESS__)
#define FORK_LOCK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FORK_LOCK_TEST_ASAN 1
#endif
#endif

// A child handler that waits on such a lock hangs within the first ten
// forks (mutation: an absl::Mutex taken in portsig's ChildAfterFork hung at
// fork 0, 0, 2, 8 and before 50 in five runs, 2026-12-07); 3000 is a wide
// margin for rarer windows. The sanitizers make each fork slow (ASan: 3000
// took 28-48 s, most of the ASan stage's longest test), so they run a
// tenth, still thirty times the forks the mutation needed.
#if defined(PORTSIG_TSAN) || defined(FORK_LOCK_TEST_ASAN)
constexpr int kForks = 300;
#else
constexpr int kForks = 3000;
#endif

TEST(ForkLockTest, ChildrenOfABusyProcessNeverHangInPortsigsForkHandlers) {
  auto status = testing::RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());  // Registers the handlers.
    std::atomic<bool> stop{false};
    absl::Mutex unrelated;
    std::thread hammer([&] {
      while (!stop.load()) {
        unrelated.Lock();
        unrelated.Unlock();
      }
    });
    for (int i = 0; i < kForks; ++i) {
      // A hung child blocks waitpid: the watchdog fails the test. Armed
      // again for every fork, so that it bounds one fork's round trip, not
      // the time 3000 of them take on a loaded machine (CI under load 17
      // took over 120 s for the whole loop, with no child hung).
      alarm(60);
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      int child_status = 0;
      ASSERT_EQ(waitpid(pid, &child_status, 0), pid);
      ASSERT_TRUE(WIFEXITED(child_status)) << "fork " << i;
    }
    stop.store(true);
    hammer.join();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
