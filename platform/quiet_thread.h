// StartQuietThread: portsig's own threads (the dispatcher, the restorer, the
// finisher of a once release) start with every signal blocked but the fault
// signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), which must
// reach a crash handler. The mask thread (runtime/mask_thread.h) starts the
// same way with the signals subscribers named open too, and changes its
// mask (QuietMask) when they change.
//
// They have no use for signals, and a process-directed signal taken by one
// of them would run a host's handler on a thread the host does not know,
// or make portsig's handler run later than the kill() that sent it returns:
// a thread that keeps unblocking its mask (the note backend's lock takers
// do) invites the kernel to pick it. The caller's mask is left as it was.
//
// Never throws: a thread that cannot be made (no memory for its stack, a
// thread limit) is a ResourceExhausted status naming it, which portsig's
// callers turn into their own status or a fallback.
#ifndef PORTSIG_PLATFORM_QUIET_THREAD_H_
#define PORTSIG_PLATFORM_QUIET_THREAD_H_

#include <signal.h>

#include <functional>

#include "absl/status/status.h"

namespace portsig {
namespace platform {

// Starts `body` on a detached thread with every signal but the faults
// blocked. The thread is named `name` (at most 15 characters) where the
// platform layer can name threads: on Linux, what top -H and /proc show;
// the generic POSIX layer names none (this_thread.h). ResourceExhausted,
// naming the thread and the error, if no thread can be made; `body` is
// then not run.
absl::Status StartQuietThread(const char* name, std::function<void()> body);

// The same, with the signals in `open` unblocked too from the thread's first
// instruction.
absl::Status StartQuietThread(const char* name, std::function<void()> body,
                              const sigset_t& open);

// The mask of such a thread: every signal blocked but the faults and those
// in `open`.
sigset_t QuietMask(const sigset_t& open);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_QUIET_THREAD_H_
