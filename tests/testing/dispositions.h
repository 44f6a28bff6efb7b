// Helpers for tests that check signal dispositions: read the current one,
// compare two the way a program can observe them, and wait for one to
// change (a hang there is caught by the child's watchdog, never timed).
#ifndef PORTSIG_TESTS_TESTING_DISPOSITIONS_H_
#define PORTSIG_TESTS_TESTING_DISPOSITIONS_H_

#include <sched.h>
#include <signal.h>

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace portsig {
namespace testing {

inline struct sigaction CurrentAction(int signo) {
  struct sigaction action;
  sigaction(signo, nullptr, &action);
  return action;
}

// Compares what a program can set. glibc adds SA_RESTORER (and its
// trampoline) on every sigaction call, so that flag is not compared.
inline ::testing::AssertionResult SameAction(const struct sigaction& a,
                                             const struct sigaction& b) {
#ifdef __linux__
  constexpr int kLibcFlags = 0x04000000;  // SA_RESTORER; not in glibc headers.
#else
  constexpr int kLibcFlags = 0;
#endif
  auto describe = [](const struct sigaction& x) {
    std::string mask;
    for (int s = 1; s < NSIG; ++s) {
      if (sigismember(&x.sa_mask, s)) mask += std::to_string(s) + " ";
    }
    return "{handler=" +
           std::to_string(reinterpret_cast<uintptr_t>(x.sa_handler)) +
           " flags=" + std::to_string(x.sa_flags & ~kLibcFlags) + " mask=[" +
           mask + "]}";
  };
  bool same = (a.sa_flags & ~kLibcFlags) == (b.sa_flags & ~kLibcFlags) &&
              ((a.sa_flags & SA_SIGINFO) ? a.sa_sigaction == b.sa_sigaction
                                         : a.sa_handler == b.sa_handler);
#ifdef __SANITIZE_THREAD__
  // TSan's sigaction interceptor installs every disposition with a full
  // mask, SIG_DFL and SIG_IGN included, so only a handler's mask (the one
  // that changes behavior) can be compared there.
  const bool compare_mask =
      (a.sa_flags & SA_SIGINFO) ||
      (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN);
#else
  const bool compare_mask = true;
#endif
  for (int s = 1; s < NSIG && same && compare_mask; ++s) {
    same = sigismember(&a.sa_mask, s) == sigismember(&b.sa_mask, s);
  }
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << describe(a) << " != " << describe(b);
}

// Spins until signo's disposition is `handler` (SIG_DFL, SIG_IGN or a plain
// handler).
inline void WaitForDisposition(int signo, void (*handler)(int)) {
  for (;;) {
    struct sigaction now = CurrentAction(signo);
    if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == handler) return;
    sched_yield();
  }
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_DISPOSITIONS_H_
