// A struct sigaction read as the kernel reads it, and the sigaction(2)
// calls that cannot fail: what the disposition chain (disposition_chain.h)
// and portsig's handler (signal_handler.cc) both compare and call.
//
// Also the C library's own signals, which portsig's handler runs with
// blocked (AddReservedSignals says why).
//
// Everything here is async-signal-safe (no allocation, no locks, only
// sigaction(2) and the sigset functions), so the handler may use it.
#ifndef PORTSIG_RUNTIME_KERNEL_DISPOSITION_H_
#define PORTSIG_RUNTIME_KERNEL_DISPOSITION_H_

#include <errno.h>
#include <signal.h>

#include <cstring>

#include "platform/fatal.h"
#include "platform/signal_names.h"

namespace portsig {
namespace runtime {

// sigaction cannot fail with a valid signal number and valid arguments; if
// it does, the process is in a state portsig cannot reason about (a signal
// would be lost or loop), so it ends, saying which (`what`).
inline void MustSigaction(int signo, const struct sigaction* action,
                          struct sigaction* old, const char* what) {
  if (sigaction(signo, action, old) != 0) platform::Fatal(what, signo, errno);
}

// Whether `action` is SIG_DFL or SIG_IGN (`handler`). The kernel reads the
// handler field alone: SIG_IGN set through sa_sigaction with SA_SIGINFO is
// still ignore.
inline bool IsPlain(const struct sigaction& action, void (*handler)(int)) {
  return action.sa_handler == handler;
}

// SIG_DFL with no flags and an empty mask.
inline struct sigaction DefaultAction() {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  return dfl;
}

// Signals whose default action is to do nothing.
inline bool DefaultIsIgnore(int signo) {
  return signo == SIGCHLD || signo == SIGCONT || signo == SIGURG ||
         signo == SIGWINCH;
}

// Whether two dispositions read from the kernel are the same: handler,
// flags and mask (the rest of struct sigaction is the C library's).
inline bool SameAction(const struct sigaction& a, const struct sigaction& b) {
  if (reinterpret_cast<void*>(a.sa_handler) !=
          reinterpret_cast<void*>(b.sa_handler) ||
      a.sa_flags != b.sa_flags) {
    return false;
  }
  for (int s = 1; s <= platform::kMaxSignal; ++s) {
    if (sigismember(&a.sa_mask, s) != sigismember(&b.sa_mask, s)) return false;
  }
  return true;
}

#if defined(__GLIBC__)
// glibc's reserved signals are one run from here (IsReservedSignal), so
// the handler's look at them is a few steps, not one per signal.
inline constexpr int kFirstReservedSignal = __SIGRTMIN;
#endif

// The C library's own signals (glibc's SIGCANCEL and SIGSETXID:
// platform::IsReservedSignal), which sigfillset leaves out of a set and
// sigaddset refuses to add; the kernel blocks whatever a handler's sa_mask
// holds. portsig's handler must run with pthread_cancel's signal blocked:
// a handler that interrupts a wait which is a cancellation point (a
// receiver's futex wait in Receive, glibc 2.36's own read, poll or
// sem_wait) runs with the asynchronous cancellation type that wait
// switched to for its system call, and a cancellation acting in the
// handler unwound out of it at whatever instruction it was at: a signal
// taken from the kernel and never queued, a sender's count never taken back
// (Stop waited for it for ever), the note backend's lock never let go.
// Blocked, it acts as the handler returns. The bits are written directly,
// in glibc's layout; elsewhere no signal is reserved.
inline void AddReservedSignals(sigset_t* set) {
#if defined(__GLIBC__)
  constexpr int kBits = 8 * sizeof(set->__val[0]);
  for (int s = kFirstReservedSignal; s < NSIG; ++s) {
    if (!platform::IsReservedSignal(s)) break;
    set->__val[(s - 1) / kBits] |= 1UL << ((s - 1) % kBits);
  }
#else
  (void)set;
#endif
}

// Whether `set` holds every reserved signal (none are, off glibc).
inline bool HoldsReservedSignals(const sigset_t& set) {
#if defined(__GLIBC__)
  constexpr int kBits = 8 * sizeof(set.__val[0]);
  for (int s = kFirstReservedSignal; s < NSIG; ++s) {
    if (!platform::IsReservedSignal(s)) break;
    if ((set.__val[(s - 1) / kBits] & (1UL << ((s - 1) % kBits))) == 0) {
      return false;
    }
  }
#endif
  (void)set;
  return true;
}

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_KERNEL_DISPOSITION_H_
