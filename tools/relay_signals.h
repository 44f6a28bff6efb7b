// Which signals relay mode catches, and what it does with each.
//
// The relay catches every signal a process can catch (all but SIGKILL and
// SIGSTOP and the C library's reserved numbers), so that no signal sent to
// it can end it by its default action while its command runs. Faults
// (SIGSEGV, SIGBUS, ...) are caught only when a process sends them; one the
// kernel raises for a faulting instruction in the relay still ends it.
//
// Of those, the relay forwards to the command by default every signal except
// SIGCHLD, which tells it a child changed state (it reaps).
// --signals narrows the forwarded set; the others are still caught, and
// dropped.
#ifndef PORTSIG_TOOLS_RELAY_SIGNALS_H_
#define PORTSIG_TOOLS_RELAY_SIGNALS_H_

#include <vector>

#include "os_signal/signal.h"

namespace portsig {
namespace sigwatch {

// Every signal the relay catches, in increasing number.
std::vector<Signal> RelayCaughtSignals();

// The default forwarded set: RelayCaughtSignals() without SIGCHLD.
std::vector<Signal> DefaultForwardedSignals();

// SIGCHLD: never forwarded, whatever --signals says.
bool IsHandledByRelay(int signo);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_RELAY_SIGNALS_H_
