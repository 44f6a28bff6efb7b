// The one table of signal names: POSIX numbers, their "SIGxxx" names and
// their note names (Plan 9 style text such as "interrupt").
//
// Note names: "hangup" (SIGHUP), "interrupt" (SIGINT), "quit", "ill",
// "trap", "abort", "bus", "fpe", "kill", "usr1", "segv", "usr2", "pipe",
// "alarm" (SIGALRM), "term" (SIGTERM), "stkflt", "child", "cont", "stop",
// "tstp", "ttin", "ttou", "urg", "xcpu", "xfsz", "vtalarm", "prof", "winch",
// "io", "pwr", "sys"; real-time signals are "rtmin+N". Every catchable
// signal but those the C library keeps (IsReservedSignal) has exactly one
// note name, so a POSIX signal can travel through the note backend as text
// and come back as the same number.
//
// Lookups by number are async-signal-safe (they read a table that is filled
// before main); lookups by name are not.
#ifndef PORTSIG_PLATFORM_SIGNAL_NAMES_H_
#define PORTSIG_PLATFORM_SIGNAL_NAMES_H_

#include <csignal>

#include "absl/strings/string_view.h"

namespace portsig {
namespace platform {

// Signal numbers run from 1 to kMaxSignal.
inline constexpr int kMaxSignal = NSIG - 1;
// Longest note text, in bytes (Plan 9's ERRMAX-1).
inline constexpr int kMaxNoteLength = 127;

// "SIGINT", "SIGRTMIN+3", or "SIG32" for a number with no name; nullptr
// outside 1..kMaxSignal. Async-signal-safe.
const char* SignalName(int signo);

// "interrupt", "rtmin+3"; nullptr when the number has no note name.
// Async-signal-safe.
const char* SignalNoteName(int signo);

// Number for "SIGINT", "INT", "sigint", "SIGRTMIN+2", "RTMAX-1"; 0 if none.
// The whole text is the name: no whitespace, and a real-time offset is
// decimal digits only ("RTMIN+ 2", "RTMIN++2", "RTMAX--0" give 0).
int SignalFromName(absl::string_view name);

// Number for an exact note name ("interrupt"); 0 if none.
int SignalFromNoteName(absl::string_view note);

// True for numbers the C library keeps for itself (glibc's 32 and 33).
bool IsReservedSignal(int signo);

// Signals the kernel raises on a faulting instruction (SEGV, BUS, FPE,
// ILL, TRAP, SYS). Relaying one that came from a fault and returning would
// re-execute the instruction forever, so portsig only relays these when a
// process sent them.
inline constexpr int kSynchronousSignals[] = {SIGSEGV, SIGBUS,  SIGFPE,
                                              SIGILL,  SIGTRAP, SIGSYS};

// True for one of kSynchronousSignals.
bool IsSynchronousSignal(int signo);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SIGNAL_NAMES_H_
