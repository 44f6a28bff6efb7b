// Ending the process on a state that cannot happen (issue 13, class 10),
// from any thread or from inside a signal handler.
#ifndef PORTSIG_PLATFORM_FATAL_H_
#define PORTSIG_PLATFORM_FATAL_H_

namespace portsig {
namespace platform {

// Writes "portsig: <what> (<SIGNAME>, errno <err>)" and a newline to
// standard error with write(2), then calls abort(). `signo` 0 or `err` 0
// leave that part out. Async-signal-safe: no allocation, no stdio, no
// locks, and the message is composed on the stack.
[[noreturn]] void Fatal(const char* what, int signo = 0, int err = 0);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_FATAL_H_
