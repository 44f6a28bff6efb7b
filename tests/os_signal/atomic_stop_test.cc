// Go's TestAtomicStop for portsig, scaled up: Stop racing a signal never
// loses it.
//
// Each iteration: Notify(c, SIGINT); Stop(c) on another thread while this
// thread sends the process SIGINT; join. kill() to our own process runs the
// handler on this thread before it returns, so once Stop has returned the
// signal either reached c (possibly through the stopping list) or found the
// restored default action and killed the child. A child that is still alive
// with c empty has lost a signal. No timeouts are involved.
//
// Iterations run in forked children; a child killed by SIGINT is replaced by
// a new one that carries on with the remaining iterations.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"

namespace portsig {
namespace {

int Iterations() {
  int n = 1000;
  if (const char* env = std::getenv("PORTSIG_ATOMIC_STOP_ITERATIONS")) {
    absl::SimpleAtoi(env, &n);
  }
  return n;
}

// Runs up to `iterations` in this (child) process, writing 'r' (received) or
// 'L' (lost) per finished iteration to `out`.
[[noreturn]] void RunIterations(int iterations, int out) {
  for (int i = 0; i < iterations; ++i) {
    SignalChannel c(1);
    if (!Notify(c, {SIGINT}).ok()) _exit(2);
    std::thread stopper([&c] { Stop(c); });
    kill(getpid(), SIGINT);
    stopper.join();
    char outcome = c.TryReceive().has_value() ? 'r' : 'L';
    if (write(out, &outcome, 1) != 1) _exit(2);
  }
  _exit(0);
}

TEST(AtomicStopTest, StopNeverLosesARacingSignal) {
  const int total = Iterations();
  int remaining = total;
  int received = 0, died = 0, lost = 0, children = 0;
  while (remaining > 0) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      alarm(120);  // Watchdog: a hang fails the test instead of stalling it.
      RunIterations(remaining, fds[1]);
    }
    ++children;
    close(fds[1]);
    char outcome;
    int finished = 0;
    while (read(fds[0], &outcome, 1) == 1) {
      ++finished;
      if (outcome == 'r') ++received;
      if (outcome == 'L') ++lost;
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    remaining -= finished;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) {
      ++died;
      --remaining;  // That iteration ended in the default action.
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "child status " << status;
      ASSERT_EQ(remaining, 0);
    }
  }
  std::printf("atomic stop: backend=%s iterations=%d received=%d "
              "died_from_SIGINT=%d lost=%d children=%d\n",
              std::getenv("PORTSIG_SIGQUEUE"), total, received, died, lost,
              children);
  EXPECT_EQ(lost, 0) << "lost signal in " << lost << " of " << total
                     << " iterations";
  EXPECT_EQ(received + died, total);
}

}  // namespace
}  // namespace portsig
