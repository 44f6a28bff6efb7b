// How portsig's handler learns, without a system call, that the kernel
// entered it under portsig's own disposition: promised to the runtime's
// handler (runtime/signal_handler.cc) and its disposition chain, the only
// users.
//
// A handler cannot see the flags it was installed with, and a host that
// saved portsig's handler with signal() and put it back has it called with
// no siginfo. Reading the disposition on every signal settles that, at one
// sigaction(2) per signal (1-1.5 µs on the benchmark machine, a third of a
// handler run; BENCHMARKS.md). Where portsig has a restorer of its own
// (HasOwnRestorer: x86-64 Linux with glibc, not under ThreadSanitizer, and
// no sigaction() interposer in the process), it installs its handler
// with it: the kernel makes that restorer the handler's return address, and
// the C library's sigaction(), through which every other installation goes
// (a host's, a copy of portsig's put back), always supplies its own. A
// handler whose return address is portsig's restorer was therefore entered
// by the kernel under the disposition portsig set (SA_SIGINFO, its own
// mask), as it stood at delivery, and need read nothing.
//
// Async-signal-safe, both calls.
#ifndef PORTSIG_PLATFORM_OWN_RESTORER_H_
#define PORTSIG_PLATFORM_OWN_RESTORER_H_

#include <signal.h>

namespace portsig {
namespace platform {

// Whether portsig installs its handler with a restorer of its own in this
// process: the build has one, and nothing stands between portsig and the C
// library's sigaction() (an interposer, such as a sanitizer runtime or a
// preloaded library, must see portsig's installation as it sees any
// other). Without, SigactionWithOwnRestorer is sigaction(2) and
// IsOwnRestorer is false.
bool HasOwnRestorer();

// Sets signo's disposition to `action` as sigaction(2) would (handler,
// flags, mask), with portsig's restorer as its return path where
// HasOwnRestorer(). For dispositions whose handler is portsig's, with
// SA_SIGINFO. 0, or -1 with errno set.
int SigactionWithOwnRestorer(int signo, const struct sigaction& action);

// Puts back `read`, a disposition read with sigaction(2), with portsig's
// restorer if it was installed with it (and so keeps the handler's fast
// path); otherwise as sigaction(2) does. 0, or -1 with errno set.
int SigactionAsRead(int signo, const struct sigaction& read);

// Whether `return_address` (a handler's own, __builtin_return_address(0))
// is portsig's restorer.
bool IsOwnRestorer(const void* return_address);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_OWN_RESTORER_H_
