// portsig: Go's os/signal for C++.
//
//   portsig::SignalChannel ch(1);
//   absl::Status s = portsig::Notify(ch, {SIGINT, SIGTERM});
//   portsig::Signal got = ch.Receive();   // "SIGINT"
//   // or: portsig::Delivery d = ch.ReceiveDelivery();  // sender, count
//   portsig::Stop(ch);
//
// Promises, to any thread of the program (never call these from a signal
// handler):
// - Notify relays the listed signals (empty: every catchable signal and
//   every text note) to the channel; one signal fans out to every channel
//   that asked for it. Repeated calls add. Delivery never blocks: a full
//   channel drops and counts (SignalChannel::dropped()).
// - When Stop returns, the channel receives nothing more, and a signal that
//   arrived before its handler was removed was either delivered to the
//   channel or took the disposition portsig restored. Never lost.
// - A signal a Notify or NotifyContext names is delivered even when every
//   thread of the program blocks it (a process started with it blocked):
//   portsig's thread portsig-mask has it unblocked while anyone names it,
//   as Go does, and blocks it again before Stop restores the disposition
//   (or, if the stopping thread does not block it, with the restore after
//   the restore delay).
//   Notify() for every signal unblocks nothing there, so a signal the
//   program blocks everywhere to take with sigwaitinfo or signalfd stays
//   the program's unless it names it.
// - Signals nobody asked for keep the behavior they had before portsig:
//   default action, SIG_IGN, or the host's handler (chained). What the host
//   installed last counts, also between two subscriptions.
// - Reset puts back what portsig stands in for (handler, flags and mask):
//   what the host installed last, which is the disposition from before
//   portsig touched the signal unless the host has installed another since.
// - A fault the kernel raises for the faulting thread (SIGSEGV, SIGBUS,
//   SIGFPE, SIGILL, SIGTRAP, SIGSYS) is never relayed, even when asked for
//   by number: it gets what the previous disposition would have done, with
//   its flags, and ends the process where it would have. Sent ones are.
// - Bad input (numbers outside 1..NSIG-1, SIGKILL, SIGSTOP, reserved numbers,
//   bad notes) gets InvalidArgument naming the value, and nothing changes.
// - No exception but std::bad_alloc crosses this API. When portsig cannot
//   make a thread it needs (no memory for a stack, a thread limit; at first
//   use, or in a forked child), Notify, NotifyContext, SignalChannel::ReadyFd
//   and PostNote of a text note return ResourceExhausted naming the thread, and
//   change nothing. Stop, Reset, Ignore and destructors need no thread:
//   they deliver what is queued themselves, so Stop keeps its promise. A
//   receiver or context left without portsig's dispatcher thread looks for
//   its signals itself, every 10ms while it waits. Running out of heap
//   memory is the one failure not turned into a status: std::bad_alloc
//   may reach the caller of Notify (which then changed nothing),
//   NotifyContext, Stop, Reset or Ignore, and portsig goes on working;
//   where one of portsig's own tables cannot grow, the process ends at
//   once, saying "portsig: out of memory" (see RELIABILITY.md).
// - Notify, Stop, Reset, Ignore, PostNote and NotifyContext are not
//   cancellation points: a pthread_cancel pending for the caller acts
//   after they return, never halfway through. SignalChannel's receive
//   calls and SignalContext's waits can be cancelled while they wait
//   (channel.h, notify_context.h). Deferred cancellation only: Notify and
//   Stop hold cancellation off only from their first step that may reach
//   a cancellation point (a Notify+Stop of a signal others want reaches
//   none), so asynchronous cancellation (PTHREAD_CANCEL_ASYNCHRONOUS), or
//   a host signal handler that calls a cancellation point (write(2), say)
//   on a thread with a cancellation pending, can act inside them, as it
//   can inside malloc; neither is supported (RELIABILITY.md).
//
// Backends: "posix" (lock-free bitmask; repeats of one signal coalesce) or
// "note" (bounded FIFO that also carries text notes; each arrival queued,
// and when the queue is full an arrival is set aside and delivered once
// with its count).
// Build default: --//platform:sigqueue=posix|note; chosen at run time with
// Configure or PORTSIG_SIGQUEUE (options.h), fixed at first use.
#ifndef PORTSIG_OS_SIGNAL_SIGNAL_H_
#define PORTSIG_OS_SIGNAL_SIGNAL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "os_signal/channel.h"
#include "os_signal/channel_group.h"
#include "os_signal/delivery.h"
#include "os_signal/notify_context.h"
#include "os_signal/notify_options.h"
#include "os_signal/options.h"
#include "os_signal/signal_value.h"

namespace portsig {

// Relays `signals` (empty: all catchable signals and all text notes) to ch.
absl::Status Notify(SignalChannel& ch, absl::Span<const Signal> signals = {});
// The same, relaying once or queuing real-time signals (NotifyOptions). The
// options apply to the listed signals and replace what an earlier Notify
// chose for them. Bad options get InvalidArgument and change nothing.
absl::Status Notify(SignalChannel& ch, absl::Span<const Signal> signals,
                    const NotifyOptions& options);

// Stops relaying to ch. No-op for a channel that is not registered.
void Stop(SignalChannel& ch);

// Undoes Notify and Ignore for `signals` (empty: all), putting back what
// portsig stands in for (see above).
absl::Status Reset(absl::Span<const Signal> signals = {});

// Ignores `signals` (empty: all catchable), stopping their relay.
absl::Status Ignore(absl::Span<const Signal> signals = {});

// Whether the signal is ignored now: through Ignore, or SIG_IGN in the
// kernel (inherited, as under nohup, or set by the host) while no Notify
// holds the signal (a handler lingering after Stop holds nothing). False
// for notes.
bool Ignored(const Signal& signal);

// Posts a note to this process, as Plan 9's postnote. A standard note name
// raises its signal. Other notes need the note backend (FailedPrecondition
// on posix) and a channel that wants them (NotFound otherwise), and are
// refused when the note queue is full (ResourceExhausted); "sys:" notes are
// reserved (InvalidArgument).
absl::Status PostNote(absl::string_view text);

// The backend in use, or that will be used ("posix" or "note"). When an
// environment variable was malformed and ignored (options.h), returns
// InvalidArgument naming it and the backend this process runs on instead:
// the library works either way. Does not start portsig.
absl::StatusOr<std::string> Backend();

// Arrivals that found a queue full and were coalesced rather than queued
// one by one: on the note backend a signal set aside (delivered later with
// its count) or a text note refused; on either backend a real-time signal
// whose queue-mode ring was full (kept in its overflow summary).
uint64_t QueueOverflows();

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_SIGNAL_H_
