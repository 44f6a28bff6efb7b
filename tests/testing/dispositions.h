// Helpers shared by the tests that check dispositions: CurrentAction,
// DescribeDifference, SetPlainHandler, WaitForDisposition and
// WaitForRestore (waiting for the dispatcher: dispatch.h). Header-only, so
// the libFuzzer build under fuzz/ (outside Bazel) can use it too.
#ifndef PORTSIG_TESTS_TESTING_DISPOSITIONS_H_
#define PORTSIG_TESTS_TESTING_DISPOSITIONS_H_

#include <sched.h>
#include <signal.h>

#include <cstdint>
#include <string>

#include "os_signal/signal.h"
#include "platform/sanitizers.h"

namespace portsig {
namespace testing {

inline struct sigaction CurrentAction(int signo) {
  struct sigaction action = {};
  sigaction(signo, nullptr, &action);
  return action;
}

// Empty if `a` and `b` are the same disposition as far as a program can set
// one (handler, flags, mask), else both described. glibc adds SA_RESTORER
// to every sigaction, so that flag is not compared. TSan's interceptor
// installs SIG_DFL and SIG_IGN with a full mask, so only a handler's mask is
// compared under TSan.
inline std::string DescribeDifference(const struct sigaction& a,
                                      const struct sigaction& b) {
#ifdef __linux__
  constexpr int kLibcFlags = 0x04000000;  // SA_RESTORER
#else
  constexpr int kLibcFlags = 0;
#endif
  auto describe = [&](const struct sigaction& x) {
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
#if defined(PORTSIG_TSAN)
  const bool compare_mask =
      (a.sa_flags & SA_SIGINFO) ||
      (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN);
#else
  const bool compare_mask = true;
#endif
  for (int s = 1; s < NSIG && same && compare_mask; ++s) {
    same = sigismember(&a.sa_mask, s) == sigismember(&b.sa_mask, s);
  }
  if (same) return "";
  return describe(a) + " != " + describe(b);
}

// Installs a plain handler (no SA_SIGINFO, empty mask), as a host would;
// false if sigaction refused.
inline bool SetPlainHandler(int signo, void (*handler)(int)) {
  struct sigaction action = {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  return sigaction(signo, &action, nullptr) == 0;
}

// Spins until signo's disposition is `handler` (SIG_DFL, SIG_IGN or a plain
// handler); a hang is the calling child's watchdog's business, never timed.
// Async-signal-safe.
inline void WaitForDisposition(int signo, void (*handler)(int)) {
  for (;;) {
    struct sigaction now = CurrentAction(signo);
    if (!(now.sa_flags & SA_SIGINFO) && now.sa_handler == handler) return;
    sched_yield();
  }
}

// WaitForDisposition for a restore that portsig runs on another thread, from
// an ordinary thread. Under TSan, sigaction() can report the new disposition
// before the kernel has it: TSan's interceptor records it in its own table
// before the system call, and answers from that table while its wrapper is
// still the kernel's handler. portsig holds its runtime lock across every
// restore, and Ignored() takes that lock, so once it returns the system call
// is done.
inline void WaitForRestore(int signo, void (*handler)(int)) {
  WaitForDisposition(signo, handler);
  (void)Ignored(Signal(signo));
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_DISPOSITIONS_H_
