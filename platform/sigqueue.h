// SigQueue: the hand-off between the async signal handler (sender) and the
// single dispatcher thread (receiver).
//
// Promises:
// - Send() is async-signal-safe and may run on any number of threads at
//   once. It accepts a signal only if the signal is wanted; an accepted signal
//   reaches the receiver (the posix backend may coalesce it with an earlier
//   one still pending; the note backend may refuse it when full, and counts
//   that).
// - Receive() is called by one thread at a time and blocks until a signal is
//   there. Each delivery carries a SignalRecord (who sent it, how) and how
//   many occurrences it stands for; the counts of all deliveries add up to
//   every occurrence Send() accepted (none is under-reported). A delivery
//   whose occurrences an earlier one already reported is not returned.
// - Queue mode (SetQueueCapacity, real-time signals): every occurrence is
//   returned as its own delivery with its own record, up to the capacity
//   per signal; the rest are summarized in one delivery with their count.
// - WaitUntilIdle() returns only after every signal that any Send() had
//   committed to (read `wanted` and not yet finished) has been returned by
//   Receive() and the receiver has come back to wait. This is what lets
//   os_signal's Stop promise that a racing signal is never lost.
// - Enable/Disable/Ignore/Ignored/WaitUntilIdle are for ordinary threads,
//   never for a signal handler.
//
// Slot 0 stands for "text notes" (Plan 9 notes that are not signals); slots
// 1..kMaxSignal are signal numbers.
//
// Callers of Send() on the note backend must not be interruptible by a
// handler that also sends: the runtime's handler runs with every signal
// blocked (full sa_mask), and tests that call Send() from plain threads block
// signals first. Every other lock holder blocks signals itself.
#ifndef PORTSIG_PLATFORM_SIGQUEUE_H_
#define PORTSIG_PLATFORM_SIGQUEUE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "platform/record_ring.h"
#include "platform/signal_names.h"
#include "platform/signal_record.h"
#include "platform/signal_set.h"

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
  kCoalesced,    // The note queue was full: the receiver will see it folded
                 // into one later delivery; counted in overflows().
  kNotWanted,    // Nobody wants this slot; the caller falls back.
  kOverflow,     // Wanted, but the queue is full; counted in overflows().
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

  // Receiver side: one thread. Blocks until a signal or note is there.
  void Receive(QueuedSignal* out);

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

  // See the promise above. The receiver must be running.
  void WaitUntilIdle();

  // Sends that found the queue full (refused, or coalesced).
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
  // Blocks until the backend has a signal or note. `out->occurrences` is 0
  // when everything it stands for was reported already, or when it only
  // announces ring records.
  virtual void ReceiveRaw(QueuedSignal* out) = 0;
  // True when the receiver is parked in Receive() with nothing queued.
  virtual bool ReceiverIdle() = 0;

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
  // Receiver-private: the signal whose ring Receive() is emptying, and the
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
