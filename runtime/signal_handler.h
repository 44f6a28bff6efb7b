// The sigaction side of the runtime: portsig's async signal handler, the
// dispositions it stands in for, and how an unwanted signal or a fault falls
// through to them. Callers serialize installs and restores (the runtime's
// lock); the handler itself only reads.
//
// The rules a host can count on:
// - Each time portsig installs its handler (or SIG_IGN) it stands in for
//   what is in place at that moment, unless that is portsig's own handler:
//   whatever the host installed last, even between two subscriptions, is
//   what an unwanted signal gets meanwhile and what Stop and Reset put back.
// - A host handler installed over portsig's stays (restoring leaves it). If
//   it chains back into portsig's handler, portsig goes on to what it stood
//   in for and never calls that host handler again for the same signal.
// - A host that put back portsig's handler (restoring what it had saved as
//   it left) is recognised: Stop and Reset put back what was under that
//   host, and a new Notify stands in for that.
// - A host handler with SA_RESETHAND that portsig's handler calls for an
//   unwanted signal (one that arrives while Stop restores, say) is reset
//   to SIG_DFL as it is called, as the kernel would have done: Stop puts
//   back SIG_DFL, and the next such signal takes the default action. A
//   Notify made meanwhile is never undone by it.
// - Put back as a plain handler (signal()), or called as a plain function
//   by a host handler without SA_SIGINFO, portsig's handler gets no
//   siginfo from the kernel: it reads none (a channel gets the signal with
//   no sender or value) and passes none (nullptr) to a previous SA_SIGINFO
//   handler, whatever the ABI left in those argument slots.
// - Called by a host handler while a host's SA_SIGINFO handler is in
//   place (a chain of libraries, some of which call what they saved as a
//   plain function), portsig's handler takes its arguments for the
//   kernel's only if they can be read and the siginfo is for this signal
//   (Linux; where the system cannot say, it takes them).
// - A signal the kernel delivers while a host handler portsig called runs
//   (or after that handler left portsig's call with siglongjmp) reaches a
//   channel that wants it, unless portsig called that handler for a fault
//   or cannot read its arguments (see above).
// - A fault raised by the kernel for the faulting thread (SEGV, BUS, FPE,
//   ILL, TRAP, SYS with si_code > 0) is never relayed: it gets what the
//   previous disposition would have done, with SA_RESETHAND, SA_NODEFER and
//   sa_mask honoured, and the process ends by that signal where it would
//   have. Only sent ones (kill, raise, sigqueue, tgkill) reach channels.
#ifndef PORTSIG_RUNTIME_SIGNAL_HANDLER_H_
#define PORTSIG_RUNTIME_SIGNAL_HANDLER_H_

#include <signal.h>

#include "absl/status/status.h"
#include "platform/sigqueue.h"

namespace portsig {
namespace runtime {

// The queue the handler sends into. Set once before any install.
void SetHandlerQueue(platform::SigQueue* queue);

// Installs portsig's handler (SA_SIGINFO | SA_ONSTACK | SA_RESTART, every
// signal blocked while it runs) unless portsig installed it already, first
// noting the disposition in place as the one it stands in for.
absl::Status InstallHandler(int signo);
// Sets SIG_IGN, noting the disposition in place as InstallHandler does.
absl::Status InstallIgnore(int signo);
// Puts back what portsig stands in for if portsig's handler (installed by
// portsig or put back by a host) or portsig's SIG_IGN is in place; else
// leaves the host's disposition and remembers it as the one to stand in for
// next.
void RestoreSaved(int signo);
// Whether restoring signo can wait (deferred_restore.h): portsig's handler
// is in place, and what it replaced is SIG_DFL for a signal whose default
// action ends the process without a core dump. (Faults and the other core
// signals are left out: a dump would show portsig's handler re-raising.)
bool RestoreCanWait(int signo);
// Around fork(), under the runtime's lock with every signal blocked on the
// forking thread: waits for the handler's own changes to the table
// (SA_RESETHAND resets) that other threads are making, and holds new ones
// off until the release, which the parent and the child each call.
void HoldHandlerResetsForFork();
void ReleaseHandlerResetsAfterFork();
// Whether portsig's handler is installed for signo (by this table).
bool HandlerInstalled(int signo);
// Whether the kernel's current disposition for signo is portsig's handler
// (false when a host replaced it, or sigaction fails).
bool OurHandlerInPlace(int signo);
// Whether the kernel's current disposition for signo is SIG_IGN.
bool KernelIgnores(int signo);

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_SIGNAL_HANDLER_H_
