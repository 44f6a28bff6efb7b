// The process-wide runtime under os_signal: owns the selected SigQueue,
// installs, forwards and restores sigaction handlers (signal_handler.h,
// disposition_chain.h), runs the dispatcher thread, the mask thread
// (mask_thread.h) and the restorer (deferred_restore.h), and survives fork().
//
// Promises to os_signal (its only client):
// - Enable(signo) starts the dispatcher if it does not run
//   (ResourceExhausted naming it, and nothing changed, if it cannot), makes
//   the signal wanted, then installs portsig's handler unless portsig's is
//   installed, standing in for the disposition in place at that moment
//   (disposition_chain.h). If sigaction refuses, the signal is unwanted
//   again and the error returned.
// - Disable(signo) makes it unwanted and puts back what portsig's handler
//   stood in for, the disposition the host had installed last when portsig
//   installed it (unless the host has since replaced portsig's handler, in
//   which case the host's choice stands; signal_handler.h has the rules):
//   at once, or after the restore delay where lingering cannot change what
//   happens to the process (deferred_restore.h).
// - A signal that reaches portsig's handler while nobody wants it gets what
//   portsig stands in for: the host's handler (called with the siginfo when
//   the kernel passed one), SIG_IGN, or the default action; one ignored
//   through Ignore gets nothing.
// - WaitUntilIdle() returns once every signal the handler committed to has
//   been passed to the delivery callback and that call has returned (it
//   delivers what is still queued itself).
// - Callers must not hold locks that the delivery callback takes while
//   calling WaitUntilIdle(), nor call it from the callback (it would wait
//   for itself).
// - Lock order: the runtime's lock is taken after os_signal's (the handler
//   map's, a channel's, a context's), never before; the callback is never
//   called under it.
#ifndef PORTSIG_RUNTIME_RUNTIME_H_
#define PORTSIG_RUNTIME_RUNTIME_H_

#include <bitset>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "platform/deadline.h"
#include "platform/signal_names.h"
#include "runtime/config.h"
#include "runtime/received_signal.h"

namespace portsig {
namespace platform {
class SigQueue;      // platform/sigqueue.h, for QueuePoller
class ReceiverSlot;  // platform/receiver_slot.h, for QueueSleeper
}  // namespace platform
namespace runtime {

// Called for each received signal or text note, on whichever thread holds
// the queue's receive role: the dispatcher, a thread polling while it waits
// in Receive (QueuePoller), a receiver woken from its sleep on the queue
// (QueueSleeper), a WaitUntilIdle caller, or a DeliverQueued caller.
using DeliveryCallback = void (*)(const ReceivedSignal& received);

// Starts the runtime on the configured backend if it has not started, and
// records the callback (nullptr: keep the current one). Always OK: a
// malformed environment variable is ignored (EnvironmentProblems).
absl::Status Init(DeliveryCallback callback);

// "posix" or "note": the backend in use. Starts the runtime.
absl::string_view BackendName();

// The current settings (runtime/config.h). Does not start the runtime.
struct Settings {
  QueueBackend sigqueue;
  absl::Duration spin_before_sleep;
  absl::Duration restore_delay;
};
Settings CurrentSettings();

// Applies every set field, or none: InvalidArgument for a value out of
// range (Validate), FailedPrecondition for a backend other than the one in
// use once the runtime has started (every function here starts it but
// CurrentSettings, Configure, EnvironmentProblems and ForkGeneration). The
// spin applies from the next wait, the restore delay from the next Stop.
// Setting a field silences the environment's problem for it.
absl::Status Configure(const SettingsUpdate& update);

// What was wrong with the environment variables whose defaults were
// ignored and not since overridden by Configure; empty when nothing was.
std::string EnvironmentProblems();

absl::Status Enable(int signo);
void Disable(int signo);
// The same, restoring at once rather than after the restore delay, with no
// thread made: for a forked child's fork handler.
void DisableAtOnce(int signo);
// The mask thread (mask_thread.h): OpenMask unblocks signo on a thread of
// portsig's, so that it is delivered even where every thread of the program
// blocks it, and returns once it is unblocked there; call it after Enable.
// ResourceExhausted, naming the thread, if the thread cannot be made (then
// nothing changed). CloseMask blocks it there again and returns once it is
// blocked. Disable, Ignore and Reset block it there first too, except that
// Disable leaves it open while its handler lingers (the restore delay) if
// the calling thread does not block it: the restore closes it. MaskOpen:
// whether signo is open there.
absl::Status OpenMask(int signo);
// OpenMask for several signals at once: one change of that thread's mask.
absl::Status OpenMask(const std::bitset<platform::kMaxSignal + 1>& signals);
void CloseMask(int signo);
bool MaskOpen(int signo);
// Sets SIG_IGN, remembering the previous disposition for Reset.
absl::Status Ignore(int signo);
// Puts back what portsig stands in for: the disposition from before
// portsig touched signo, or what a host installed over it since
// (signal_handler.h).
void Reset(int signo);
// The truth: ignored through portsig, or SIG_IGN in the kernel (inherited at
// startup, as under nohup) while portsig does not hold the signal.
bool Ignored(int signo);

// Text notes (slot 0 of the queue). EnableNotes fails only if the
// dispatcher cannot be started (ResourceExhausted).
absl::Status EnableNotes();
void DisableNotes();
// Queues a text note on the note backend. FailedPrecondition on posix,
// NotFound when nobody wants notes, ResourceExhausted when the queue is full.
absl::Status QueueNote(absl::string_view text);

// The largest queue-mode capacity (SetQueueCapacity) the queue keeps.
inline constexpr uint32_t kMaxQueueCapacity = 1024;

// Queue mode for a real-time signal: keep up to `capacity` occurrences
// (0: coalesce; more than kMaxQueueCapacity: kMaxQueueCapacity). See
// platform::SigQueue::SetQueueCapacity.
void SetQueueCapacity(int signo, uint32_t capacity);

// Restores signo now if Disable left its handler in place (a Notify that
// failed part way takes back what it did at once).
void RestoreIfLingering(int signo);

void WaitUntilIdle();
// Whether WaitUntilIdle would have nothing to wait for now, without
// waiting (platform::SigQueue::Idle). For a caller that holds the lock the
// delivery callback takes: true means every signal the handler committed
// to has been delivered.
bool Idle();

// Whether the queue takes `signo` now: some subscriber wants it and
// portsig's handler relays it (platform::SigQueue::Wanted). One atomic load.
bool QueueWants(int signo);

// A thread about to wait for a signal in a channel may take signals from
// the queue itself while it spins, rather than wait for the dispatcher to
// hand them on: one thread wake-up fewer per signal (platform/sigqueue.h,
// polling). The delivery callback then runs on this thread, for every
// subscriber, so hold none of the locks it takes. Registers on
// construction; on destruction unregisters and delivers whatever senders
// left to the pollers.
class QueuePoller {
 public:
  QueuePoller();
  ~QueuePoller();
  QueuePoller(const QueuePoller&) = delete;
  QueuePoller& operator=(const QueuePoller&) = delete;

  // Takes and delivers what is queued, if no other thread is taking.
  void Poll();

 private:
  platform::SigQueue* queue_ = nullptr;
};

// A thread that blocks until a delivery reaches it (a channel's blocking
// receive: Receive, ReceiveFor, ReceiveUntil and their Delivery forms)
// sleeps on the queue as one of its receivers (platform/sigqueue.h,
// sleeping receivers): a signal handler wakes it directly, and it delivers
// what is queued, to every subscriber, itself, so the signal reaches it
// with one thread wake-up instead of two (the dispatcher's, then its own),
// and with none when the kernel ran the handler on this thread. The
// delivery callback then runs on this thread: hold none of the locks it
// takes while in Sleep or the destructor. Claims a slot on construction;
// on destruction (however the thread leaves, pthread_cancel's unwinding
// included) gives it back and delivers what a sender left to it.
class QueueSleeper {
 public:
  QueueSleeper();
  ~QueueSleeper();
  QueueSleeper(const QueueSleeper&) = delete;
  QueueSleeper& operator=(const QueueSleeper&) = delete;

  // Sleeps unless `done()` (read after this thread announced its sleep),
  // until a sender or Wake() wakes it or `deadline`; delivers what is
  // queued when it wakes. A cancellation point while it sleeps (the caller
  // allows cancellation around it); may return early.
  void Sleep(absl::FunctionRef<bool()> done,
             const platform::Deadline& deadline);
  // Ends Sleep. Any thread; call it after making `done()` true.
  void Wake();

 private:
  platform::SigQueue* const queue_;
  platform::ReceiverSlot* const slot_;
};

// Starts the dispatcher if it is not running: on first use, and in a forked
// child, where the parent's does not exist (there it also starts the mask
// thread, if signals are open, best effort). Cheap: two atomic loads when
// they run. ResourceExhausted, naming the dispatcher, if it cannot be made.
absl::Status EnsureDispatcher();
// Whether EnsureDispatcher would return at once, starting nothing (and so
// reaching no cancellation point): the same two atomic loads.
bool DispatcherReady();
// Whether the dispatcher runs in this process now.
bool DispatcherRunning();
// Delivers what is queued now on the calling thread, if no other thread is
// delivering. For waiters in a process where the dispatcher could not be
// started, who look for their signals themselves instead. Hold none of the
// locks that delivery takes.
void DeliverQueued();

// How many fork()s this process descends from since portsig started here;
// per-process resources (the ready descriptor of a channel, group or
// context; a channel's list of receivers) compare it to know they were
// inherited and must be made anew. Does not start the runtime.
uint64_t ForkGeneration();

// SigQueue::overflows(): text notes refused, signals set aside by the note
// backend, occurrences folded into a queue-mode ring's overflow summary.
uint64_t QueueOverflows();

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_RUNTIME_H_
