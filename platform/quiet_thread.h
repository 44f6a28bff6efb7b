// StartQuietThread: portsig's own threads (the dispatcher, the restorer, the
// finisher of a once release) start with every signal blocked but the fault
// signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), which must
// reach a crash handler.
//
// They have no use for signals, and a process-directed signal taken by one
// of them would run a host's handler on a thread the host does not know,
// or make portsig's handler run later than the kill() that sent it returns:
// a thread that keeps unblocking its mask (the note backend's lock takers
// do) invites the kernel to pick it. The caller's mask is left as it was.
#ifndef PORTSIG_PLATFORM_QUIET_THREAD_H_
#define PORTSIG_PLATFORM_QUIET_THREAD_H_

#include <functional>

namespace portsig {
namespace platform {

// Starts `body` on a detached thread with every signal but the faults
// blocked, named
// `name` (at most 15 characters; what top -H and /proc show). Throws
// std::system_error, as std::thread does, if no thread can be made.
void StartQuietThread(const char* name, std::function<void()> body);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_QUIET_THREAD_H_
