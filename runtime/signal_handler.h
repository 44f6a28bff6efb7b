// The sigaction side of the runtime: portsig's async signal handler, and how
// an unwanted signal or a fault falls through to the dispositions it stands
// in for. Those are kept, installed and restored by the one
// DispositionChains (disposition_chain.h) that Dispositions() returns, which
// knows this handler; the runtime calls it under its lock, and the handler
// reads it without one (and, for a SA_RESETHAND host handler it calls,
// writes it as the kernel would: disposition_chain.h).
//
// The handler is async-signal-safe and keeps errno. Installed by portsig,
// it runs with every signal blocked; a host handler it calls in the
// kernel's place (for a signal the kernel delivered to portsig's) runs with
// the mask the kernel would have given it, built on the interrupted code's
// mask where the kernel passed a context (under TSan, but for faults, on
// the mask in force: signal_handler.cc says why).
//
// The rules a host can count on, which the two keep together:
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
//   or cannot read its arguments (see above), or three unwanted signals
//   already nest in that call (the next entry is taken for a chain call).
// - A fault raised by the kernel for the faulting thread (SEGV, BUS, FPE,
//   ILL, TRAP, SYS with si_code > 0) is never relayed: it gets what the
//   previous disposition would have done, with SA_RESETHAND, SA_NODEFER and
//   sa_mask honoured, and the process ends by that signal where it would
//   have. Only sent ones (kill, raise, sigqueue, tgkill) reach channels.
#ifndef PORTSIG_RUNTIME_SIGNAL_HANDLER_H_
#define PORTSIG_RUNTIME_SIGNAL_HANDLER_H_

#include <signal.h>

#include "platform/sigqueue.h"
#include "runtime/disposition_chain.h"

namespace portsig {
namespace runtime {

// The queue the handler sends into. Set once before any install.
void SetHandlerQueue(platform::SigQueue* queue);

// The one table of dispositions this handler stands in for, through which
// the runtime installs and restores it (disposition_chain.h says who may
// call what).
DispositionChains& Dispositions();

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_SIGNAL_HANDLER_H_
