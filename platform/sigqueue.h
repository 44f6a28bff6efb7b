// SigQueue: the hand-off between the async signal handler (sender) and the
// threads that take signals out (receivers): the runtime's dispatcher, and
// any thread that holds the receive role for a moment.
//
// Promises:
// - Send() is async-signal-safe and may run on any number of threads at
//   once. It accepts a signal only if the signal is wanted; an accepted signal
//   reaches a receiver. The posix backend may coalesce it with an earlier
//   one still pending; the note backend coalesces only when its queue is
//   full (the signal is set aside and arrives once with its count), and
//   counts that. Only a text note (SendNote) is ever refused, when full.
// - Receivers take turns: Drain() takes the receive role, so one thread at
//   a time takes signals out, whichever thread it is. Each delivery carries a
//   SignalRecord (who sent it, how) and how many occurrences it stands for; the
//   counts of all deliveries add up to every occurrence Send() accepted (none
//   is under-reported). A delivery whose occurrences an earlier one already
//   reported is not returned.
// - Queue mode (SetQueueCapacity, real-time signals): every occurrence is
//   returned as its own delivery with its own record, up to the capacity
//   per signal; the rest are summarized in one delivery with their count.
// - WaitUntilIdle() returns only after every signal that any Send() had
//   committed to (read `wanted` and not yet finished) has been passed to a
//   receiver's deliver function and that call has returned. This is what
//   lets os_signal's Stop promise that a racing signal is never lost.
// - Polling (BeginPoll/Poll/EndPoll): a thread that spins waiting for a
//   signal may take the receive role itself instead of waiting for the
//   dispatcher to hand the signal on, which saves a thread wake-up per
//   signal. While any poller is registered the posix backend's senders wake
//   nobody, neither the dispatcher nor a sleeping receiver (the poller's
//   delivery reaches its channel); a poller unregistering drains what they
//   left. The note backend's senders wake as if no poller were there.
// - Sleeping receivers (BeginSleep/Sleep/EndSleep): a thread that blocks
//   until a delivery reaches it sleeps on the queue itself. A sender that
//   finds one asleep wakes it instead of the dispatcher (one wake-up from
//   handler to receiver: a futex wake on Linux, a pipe write on the
//   generic POSIX layer; when the kernel ran the handler on the sleeping
//   thread itself, none on Linux: the handler's change of the sleeper's
//   state word ends its wait), and the woken thread takes the
//   receive role and delivers what is queued to every subscriber itself. A
//   sleeper woken by a sender always drains before it sleeps again or
//   leaves, however it leaves (its deadline, pthread_cancel): the sender
//   relied on it. The dispatcher is woken only when no receiver sleeps (and,
//   on the posix backend, no poller is registered).
// - Enable/Disable/Ignore/WaitUntilIdle are for ordinary threads, never for
//   a signal handler. Ignored is one atomic load and is also called from
//   the handler.
//
// Slot 0 stands for "text notes" (Plan 9 notes that are not signals); slots
// 1..kMaxSignal are signal numbers.
//
// The note backend's Send() takes a spin lock, which a handler nested on
// the holder's thread must never wait for. The backend's other lock
// holders block every signal first. Send() itself runs in the runtime's
// handler, whose sa_mask blocks every signal; a Send() nested on a thread
// already inside one anyway (a host handler may chain into portsig's with
// a narrower mask) sets its signal aside without the lock
// (sigqueue_note.cc). Tests that call Send() from plain threads block
// signals first.
#ifndef PORTSIG_PLATFORM_SIGQUEUE_H_
#define PORTSIG_PLATFORM_SIGQUEUE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "platform/deadline.h"
#include "platform/record_ring.h"
#include "platform/signal_names.h"
#include "platform/signal_record.h"
#include "platform/signal_set.h"
#include "platform/sleeping_receivers.h"

namespace portsig {
namespace platform {

inline constexpr int kTextNoteSlot = 0;

// What the receiver gets: a signal number, or a text note (signo 0), with
// the record of (the latest of) the occurrences it stands for.
struct QueuedSignal {
  int signo = 0;
  SignalRecord record;
  uint64_t occurrences = 0;
  int note_length = 0;
  char note[kMaxNoteLength + 1] = {};

  absl::string_view note_text() const {
    return absl::string_view(note, note_length);
  }
};

enum class SendResult {
  kQueued,       // The receiver will see it (possibly coalesced).
  kCoalesced,    // The note queue or the signal's queue-mode ring was full:
                 // the receiver will see it folded into one later delivery;
                 // counted in overflows().
  kNotWanted,    // Nobody wants this slot; the caller falls back.
  kOverflow,     // A text note, wanted, but the note queue is full: refused;
                 // counted in overflows().
  kUnsupported,  // This backend cannot carry text notes.
};

class SigQueue {
 public:
  SigQueue() = default;
  virtual ~SigQueue();
  SigQueue(const SigQueue&) = delete;
  SigQueue& operator=(const SigQueue&) = delete;

  // "posix" or "note".
  virtual absl::string_view name() const = 0;

  // Sender side. Async-signal-safe. signo in 1..kMaxSignal.
  SendResult Send(int signo, const SignalRecord& record = SignalRecord());
  // Queues a text note (1..kMaxNoteLength bytes). Ordinary threads only.
  virtual SendResult SendNote(absl::string_view text,
                              const SignalRecord& record) = 0;

  // Receiver side.
  using DeliverFn = absl::FunctionRef<void(const QueuedSignal&)>;
  // Takes the receive role (waiting for it if `wait`; otherwise giving up
  // at once if another thread holds it), passes every signal and note
  // queued by then to `deliver`, and gives the role back. Signals that
  // arrive meanwhile may wait for the next drain: a flood cannot keep a
  // drain going. noexcept: a `deliver` that throws (bad_alloc) would leave
  // signals taken but not delivered, where nobody looks for them, so it
  // ends the process, as it always did on the dispatcher's thread. Returns
  // whether it held the role. `deliver` must not call Drain or WaitUntilIdle.
  bool Drain(DeliverFn deliver, bool wait) noexcept;
  // Blocks until a sender may have queued something since this thread's
  // last Drain (spurious returns allowed). One thread only: the dispatcher.
  // It spins for the spin budget first only while no poller is registered:
  // a poller is looking already.
  virtual void AwaitSenders() = 0;
  // Blocks until one signal or note is there and returns it: Drain and
  // AwaitSenders for a single consumer. For tests: the signal is returned
  // after the role is given back, so WaitUntilIdle does not wait for it.
  void Receive(QueuedSignal* out);

  // Pollers. BeginPoll registers the calling thread as one; then Poll takes
  // what is queued if the role is free (lock-free and cheap when nothing
  // is); EndPoll unregisters and delivers whatever a sender left to the
  // pollers, waiting for the role if it must.
  void BeginPoll();
  void Poll(DeliverFn deliver);
  void EndPoll(DeliverFn deliver);

  // Sleeping receivers. BeginSleep gives the calling thread a slot (see
  // sleeping_receivers.h) until EndSleep. Sleep announces the sleep, looks
  // at `done` and at the queue, and sleeps unless either has something,
  // until a sender or WakeSleeper(slot) wakes it or `deadline` (or earlier
  // for no reason: the caller looks again); then it delivers what is queued
  // with `deliver` (waiting for the role if it was woken), and returns
  // whether anyone woke it. A cancellation point while it sleeps, and only
  // there. `done` is read after the announcement: whoever makes it true
  // calls WakeSleeper after. EndSleep delivers what a sender left to this
  // sleeper; call it however the thread leaves (a destructor), holding none
  // of the locks delivery takes.
  ReceiverSlot* BeginSleep();
  bool Sleep(ReceiverSlot* slot, DeliverFn deliver,
             absl::FunctionRef<bool()> done, const Deadline& deadline);
  void EndSleep(ReceiverSlot* slot, DeliverFn deliver);
  // Any thread, async-signal-safe: ends `slot`'s Sleep (if it sleeps).
  static void WakeSleeper(ReceiverSlot* slot) { slot->Wake(); }

  // Queue mode for one signal: keep up to `capacity` occurrences' records
  // (0: off, coalesce as usual). Ordinary threads only; the first call for a
  // signal allocates its ring, which then lives as long as the queue.
  void SetQueueCapacity(int signo, uint32_t capacity);
  uint32_t QueueCapacity(int signo) const;

  // Control side. Enable clears the ignored bit; Ignore clears wanted.
  void Enable(int slot);
  void Disable(int slot);
  void Ignore(int slot);
  void Unignore(int slot);
  bool Wanted(int slot) const;
  bool Ignored(int slot) const;

  // See the promise above. Drains with `deliver` itself once the committed
  // senders are done, so it needs no running receiver; not from `deliver`.
  void WaitUntilIdle(DeliverFn deliver);
  // Lock-free, never waits: true only if WaitUntilIdle would find nothing
  // to wait for now (no sender between its `wanted` check and the end of
  // its hand-off, nothing queued, no thread holding the receive role and so
  // none delivering what it took). A caller holding the lock every
  // `deliver` takes learns that every signal a sender had committed has
  // been delivered. May say false when idle (a poller holding the role for
  // an empty look); never true when not.
  bool Idle() const;

  // Sends that found no place of their own: text notes refused, signals'
  // occurrences set aside by the note backend, occurrences folded into a
  // queue-mode ring's overflow summary.
  uint64_t overflows() const {
    return overflows_.load(std::memory_order_relaxed);
  }

  // In a child after fork(): drop the parent's pending signals and receiver
  // state (no receiver thread exists in the child), keep wanted/ignored and
  // queue capacities.
  virtual void ResetAfterFork();

 protected:
  // Queues a signal whose slot is wanted; async-signal-safe. A null record
  // only wakes the receiver for records already in the signal's ring: it
  // is not an occurrence of its own.
  virtual SendResult Enqueue(int signo, const SignalRecord* record) = 0;
  // The role holder starts a drain: TryReceiveRaw then returns what was
  // queued by now (and perhaps some of what comes later), and false after,
  // so that a drain ends even while senders keep sending.
  virtual void BeginDrain() = 0;
  // The role holder takes one signal or note from the backend; false if
  // there is none (in this drain). `out->occurrences` is 0 when everything it
  // stands for was reported already, or when it only announces ring records.
  virtual bool TryReceiveRaw(QueuedSignal* out) = 0;
  // Lock-free: whether a signal or note may be queued. Never false while
  // one that a completed Enqueue queued is still there (sequentially
  // consistent with Enqueue's read of pollers()).
  virtual bool MayHavePending() const = 0;
  // BeginPoll registered the only poller. Not from a signal handler.
  virtual void FirstPollerRegistered() {}
  // Registered pollers. The posix backend's Enqueue reads it after setting
  // a signal's bit: while it is non-zero, a poller will take the bit.
  int32_t pollers() const { return pollers_.load(std::memory_order_seq_cst); }
  // Async-signal-safe: a sender that queued a signal and must see it taken
  // wakes a sleeping receiver; false if none sleeps (then the dispatcher).
  bool WakeSleepingReceiver(int slot);

  // The shared front half of Send/SendNote: counts the sender in
  // `delivering_` before it reads `wanted_`, so WaitUntilIdle sees it.
  class DeliveryScope;
  void CountOverflow() { overflows_.fetch_add(1, std::memory_order_relaxed); }

 private:
  AtomicSignalSet wanted_;
  AtomicSignalSet ignored_;
  // Senders between their `wanted_` check and the end of their hand-off.
  // Go's plan9 queue has no such counter; both of ours need it.
  std::atomic<int32_t> delivering_{0};
  std::atomic<uint64_t> overflows_{0};
  // Queue-mode rings, allocated on first use and never freed (a handler may
  // hold one).
  std::atomic<RecordRing*> rings_[kMaxSignal + 1] = {};
  // The receive role, written by hand: a forked child must be able to reset
  // it whoever held it in the parent, and it is only ever held for one
  // Drain, so waiters yield rather than sleep. The price: a holder stalled
  // mid-delivery (descheduled, stopped in a debugger) keeps its waiters
  // spinning, and the lock is not fair.
  class RoleScope;
  bool TryLockRole();
  void LockRole();
  void UnlockRole();
  // One signal for the role holder, after the rings; false if none.
  bool TryReceiveLocked(QueuedSignal* out);

  std::atomic<bool> role_held_{false};
  std::atomic<int32_t> pollers_{0};
  SleepingReceivers sleepers_;
  // Role holder's: the signal whose ring is being emptied, and the
  // backend's own delivery for it, returned once the ring is empty.
  int draining_ = 0;
  uint64_t drain_limit_ = 0;
  QueuedSignal drained_after_;
};

class SigQueue::DeliveryScope {
 public:
  DeliveryScope(SigQueue* queue, int slot);
  ~DeliveryScope();
  DeliveryScope(const DeliveryScope&) = delete;
  DeliveryScope& operator=(const DeliveryScope&) = delete;
  bool wanted() const { return wanted_; }

 private:
  SigQueue* const queue_;
  bool wanted_;
};

// Backend factories.
std::unique_ptr<SigQueue> NewPosixSigQueue();
std::unique_ptr<SigQueue> NewNoteSigQueue();

// "posix" or "note", chosen at build time by --//platform:sigqueue.
absl::string_view DefaultSigQueueName();

// The backend named `name` ("posix" or "note"); InvalidArgument naming the
// value otherwise.
absl::StatusOr<std::unique_ptr<SigQueue>> NewSigQueue(absl::string_view name);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SIGQUEUE_H_
