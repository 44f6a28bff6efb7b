// The sigaction side of the runtime: portsig's async signal handler, the
// dispositions it replaced, and how an unwanted signal falls through to
// them. Callers serialize installs and restores (the runtime's lock); the
// handler itself only reads.
#ifndef PORTSIG_RUNTIME_SIGACTION_TABLE_H_
#define PORTSIG_RUNTIME_SIGACTION_TABLE_H_

#include <signal.h>

#include "absl/status/status.h"
#include "platform/sigqueue.h"

namespace portsig {
namespace runtime {

// The queue the handler sends into. Set once before any install.
void SetHandlerQueue(platform::SigQueue* queue);

// Installs portsig's handler (SA_SIGINFO | SA_ONSTACK | SA_RESTART, every
// signal blocked while it runs), first saving the current disposition unless
// one is saved already.
absl::Status InstallHandler(int signo);
// Sets SIG_IGN, saving the current disposition unless one is saved already.
absl::Status InstallIgnore(int signo);
// Puts the saved disposition back, if one is saved and portsig's handler or
// portsig's SIG_IGN is still in place, and forgets it.
void RestoreSaved(int signo);
// Whether restoring signo can wait (deferred_restore.h): portsig's handler
// is in place, and what it replaced is SIG_DFL for a signal whose default
// action ends the process without a core dump. (Faults and the other core
// signals are left out: a dump would show portsig's handler re-raising.)
bool RestoreCanWait(int signo);
// Whether portsig's handler is installed for signo (by this table).
bool HandlerInstalled(int signo);
// Whether the kernel's current disposition for signo is SIG_IGN.
bool KernelIgnores(int signo);

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_SIGACTION_TABLE_H_
