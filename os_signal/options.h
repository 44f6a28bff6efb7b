// portsig::Options: the library's process-wide settings, in one place.
//
//   portsig::Options options;
//   options.spin_before_sleep = absl::Microseconds(50);
//   absl::Status s = portsig::Configure(options);
//
// Each field has one name, also used by its environment variable, which
// gives its default when the field has never been configured:
//
//   field              environment variable        default
//   sigqueue           PORTSIG_SIGQUEUE=posix|note --//platform:sigqueue
//   spin_before_sleep  PORTSIG_SPIN_BEFORE_SLEEP   0 (sleep at once)
//   restore_delay      PORTSIG_RESTORE_DELAY       10ms
//
// The environment is read once, at the first call into portsig. A
// malformed or out-of-range variable never stops the library: it is
// ignored, and Backend() reports it until Configure sets that field.
//
// When each field may change:
// - sigqueue: until portsig is first used (any call other than Configure,
//   CurrentOptions and Backend); afterwards only to the backend in use,
//   otherwise FailedPrecondition.
// - spin_before_sleep, restore_delay: at any time, from any thread. The
//   spin applies from the next wait, the restore delay from the next Stop.
//
// Thread safety: Configure and CurrentOptions may be called from any
// thread, concurrently with each other and with the rest of the API; never
// from a signal handler.
#ifndef PORTSIG_OS_SIGNAL_OPTIONS_H_
#define PORTSIG_OS_SIGNAL_OPTIONS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace portsig {

// The signal-queue backend: "posix" (lock-free bitmask fed by a sigaction
// handler; repeats of one signal coalesce) or "note" (Plan 9 style bounded
// FIFO; no coalescing, overflow counted, carries text notes).
enum class SigQueue { kPosix, kNote };

struct Options {
  // Unset fields leave the current value alone.
  std::optional<SigQueue> sigqueue;

  // Latency against CPU: how long a thread about to sleep until a signal
  // arrives (the dispatcher, or a thread in a channel's blocking receive:
  // Receive, ReceiveFor, ReceiveUntil and their Delivery forms) first looks
  // for one, yielding the processor. A thread spinning in Receive takes
  // signals from portsig's queue itself and fans them out to every channel
  // that wants them, so on the posix backend a signal arriving meanwhile
  // wakes no thread (the note backend's senders wake a sleeper as usual).
  // While it spins, a receiving thread blocks the signals portsig takes, so
  // the kernel hands them to another thread (often the sender) instead of
  // interrupting it; one sent to that thread alone, or that no other
  // thread takes, is unblocked at its next look (runtime/spin_mask.h).
  // Costs up to this much CPU per wait, and delivery work for other
  // channels on the receiving thread. 0..10ms.
  std::optional<absl::Duration> spin_before_sleep;

  // System calls against promptness: when Stop (or a once delivery) removes
  // the last subscriber of a signal whose disposition before portsig was
  // SIG_DFL and whose default action ends the process without a core dump
  // (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM, the real-time signals, ...),
  // portsig's handler stays installed this long, so a Notify soon after
  // makes no sigaction call. A signal nobody wants meanwhile still ends the
  // process, by the default action portsig re-raises, and exec() resets the
  // handler to SIG_DFL as before. Until the restore (one to two delays after
  // Stop), sigaction() shows portsig's handler; the process dies once the
  // handler runs rather than in the kernel; a killed process's siginfo is
  // its own re-raise; a host that replaces the handler meanwhile is treated
  // as one that replaced it while portsig was subscribed. Any other previous
  // disposition or default action, Reset, Ignore, a failed Notify, a forked
  // child and a PID namespace's init restore at once. Zero restores inside
  // Stop. 0..1s.
  std::optional<absl::Duration> restore_delay;
};

// Applies every set field, or none: InvalidArgument naming the field and
// value when one is out of range, FailedPrecondition for a backend change
// after first use (see above).
absl::Status Configure(const Options& options);

// The settings in effect, every field set.
Options CurrentOptions();

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_OPTIONS_H_
