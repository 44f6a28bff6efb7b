// The note backend: Go's runtime/sigqueue_plan9.go model.
//
// A bounded FIFO of text notes, stored inline so the sender never
// allocates, guarded by a spin lock together with a "receiver is sleeping"
// flag; a receiver asleep on the queue (SigQueue's sleeping receivers) is
// woken instead of the dispatcher when there is one. POSIX signals travel as
// their note names ("interrupt"), and come back out as numbers, each with the
// record of its occurrence. Nothing coalesces while there is room. When the
// queue is full a text note is refused; a signal is set aside in a per-signal
// overflow bit and LatestRecord (as the posix backend keeps every signal), so
// it still arrives, once, with the count of what was folded into it. Both count
// as overflows.
//
// The lock and signal handlers: a handler that spins on a lock held by the
// thread it interrupted would spin forever. So every ordinary thread that
// takes the lock blocks all signals first (ScopedSignalBlock), and the
// runtime's handler runs with every signal blocked; whoever holds the lock
// therefore cannot be interrupted by a sender, and a spinning sender only
// waits for another thread's short critical section.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>

#include "platform/latest_record.h"
#include "platform/scoped_signal_block.h"
#include "platform/sigqueue.h"
#include "platform/test_hooks.h"
#include "platform/wakeup.h"

namespace portsig {
namespace platform {
namespace {

inline constexpr int kNoteQueueCapacity = 64;

// Set while this thread is inside Push. portsig's own handler blocks every
// signal, but a host handler installed after portsig may chain into it with
// a narrower mask; a second signal nested on the thread that holds the lock
// would spin forever. Initial-exec TLS is a plain load from the thread
// pointer, so it is safe inside a signal handler.
// volatile: written and read both by this thread and by handlers nested on
// it, so the compiler must not cache or reorder them.
__attribute__((
    tls_model("initial-exec"))) thread_local volatile bool t_in_push = false;
// Set by a nested Push that set a signal aside: the outer Push must make
// sure the receiver looks at it.
__attribute__((tls_model(
    "initial-exec"))) thread_local volatile bool t_nested_set_aside = false;

// Test-and-test-and-set lock; async-signal-safe under the rule above.
class SpinLock {
 public:
  void Lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }
  void Reset() { locked_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> locked_{false};
};

class NoteSigQueue final : public SigQueue {
 public:
  absl::string_view name() const override { return "note"; }

  SendResult SendNote(absl::string_view text,
                      const SignalRecord& record) override {
    if (text.empty() || text.size() > kMaxNoteLength) {
      return SendResult::kNotWanted;
    }
    ScopedSignalBlock block;
    DeliveryScope scope(this, kTextNoteSlot);
    if (!scope.wanted()) return SendResult::kNotWanted;
    SendResult result =
        Push(0, text.data(), static_cast<int>(text.size()), &record);
    if (result == SendResult::kOverflow) CountOverflow();
    return result;
  }

  void ResetAfterFork() override {
    SigQueue::ResetAfterFork();
    // Another thread of the parent may have held the lock at fork time.
    lock_.Reset();
    head_ = 0;
    count_.store(0, std::memory_order_relaxed);
    overflowed_.Clear();
    for (LatestRecord& latest : overflowed_latest_) latest.Clear();
    receiver_sleeping_.store(false, std::memory_order_relaxed);
    wakeup_.Clear();
  }

 protected:
  // A drain takes the notes queued when it began (later ones go behind
  // them) and looks at each set-aside slot once.
  void BeginDrain() override {
    notes_left_ = count_.load(std::memory_order_seq_cst);
    overflow_cursor_ = 1;
  }

  bool TryReceiveRaw(QueuedSignal* out) override {
    // Nothing to take: skip the two signal-mask calls of taking the lock.
    // The dispatcher that misses a note this way finds it when it looks
    // again under the lock before sleeping (AwaitSenders).
    if (!MayHavePending()) return false;
    ScopedSignalBlock block;
    lock_.Lock();
    if (const int count = count_.load(std::memory_order_relaxed);
        count > 0 && notes_left_ > 0) {
      --notes_left_;
      const Note& note = ring_[head_];
      head_ = (head_ + 1) % kNoteQueueCapacity;
      // Release: SigQueue::Idle reads count_ and then whether the role is
      // held; a look that finds this note gone must also find the role
      // this thread took before it, held until the note is delivered.
      count_.store(count - 1, std::memory_order_release);
      int signo = SignalFromNoteName(absl::string_view(note.text, note.length));
      out->signo = signo;
      out->record = note.record;
      out->occurrences = note.occurrences;
      out->note_length = signo == 0 ? note.length : 0;
      std::memcpy(out->note, note.text, out->note_length);
      out->note[out->note_length] = '\0';
      lock_.Unlock();
      return true;
    }
    const int signo = TakeOverflowedLocked(&overflow_cursor_);
    lock_.Unlock();
    if (signo == 0) return false;
    out->signo = signo;
    out->occurrences = overflowed_latest_[signo].Take(&out->record);
    out->note_length = 0;
    out->note[0] = '\0';
    return true;
  }

  void AwaitSenders() override {
    {
      ScopedSignalBlock block;
      lock_.Lock();
      if (count_.load(std::memory_order_relaxed) > 0 || !overflowed_.Empty()) {
        lock_.Unlock();
        return;
      }
      receiver_sleeping_.store(true, std::memory_order_relaxed);
      wakeup_.Clear();
      lock_.Unlock();
    }
    wakeup_.Sleep(/*spin=*/pollers() == 0);
  }

  SendResult Enqueue(int signo, const SignalRecord* record) override {
    const char* note = SignalNoteName(signo);
    if (note == nullptr) return SendResult::kNotWanted;
    return Push(signo, note, static_cast<int>(std::strlen(note)), record);
  }

  // Without the lock, which would mean blocking every signal first (two
  // system calls) on every poll. Only a hint on this backend: its senders
  // wake a sleeping dispatcher whether or not a poller is registered.
  bool MayHavePending() const override {
    return count_.load(std::memory_order_seq_cst) != 0 || !overflowed_.Empty();
  }

 private:
  struct Note {
    int length;
    char text[kMaxNoteLength + 1];
    SignalRecord record;
    // 1, or 0 for a wake-up that stands for records kept elsewhere.
    uint32_t occurrences;
  };

  // A full queue: a signal waits in its overflow bit instead, with its
  // occurrence counted in the LatestRecord beside it; a text note is
  // refused. Async-signal-safe and lock-free (the lock holder may be the
  // thread this runs on).
  SendResult SetAside(int signo, const SignalRecord* record) {
    if (signo == 0) return SendResult::kOverflow;
    if (record != nullptr) overflowed_latest_[signo].Publish(*record);
    overflowed_.Add(signo);
    return SendResult::kCoalesced;
  }

  // The lowest set-aside signal, cleared; 0 if none.
  // A drain looks at each slot once, from *cursor on.
  int TakeOverflowedLocked(int* cursor) {
    for (; *cursor <= kMaxSignal; ++*cursor) {
      if (overflowed_.Contains(*cursor)) {
        overflowed_.Remove(*cursor);
        return (*cursor)++;
      }
    }
    return 0;
  }

  // Caller: a handler with signals blocked, or an ordinary thread inside a
  // ScopedSignalBlock. signo is 0 for a text note.
  SendResult Push(int signo, const char* text, int length,
                  const SignalRecord* record) {
    // Nested on a thread inside Push, which may hold the lock: set aside
    // without it, and leave the wake-up to the outer Push.
    if (t_in_push) {
      SendResult result = SetAside(signo, record);
      if (result == SendResult::kCoalesced) t_nested_set_aside = true;
      return result;
    }
    t_in_push = true;
    lock_.Lock();
    PORTSIG_TEST_HOOK(note_push_locked, length);
    SendResult result;
    bool queued = false;
    bool dispatcher_sleeps = false;
    const int count = count_.load(std::memory_order_relaxed);
    if (count == kNoteQueueCapacity) {
      result = SetAside(signo, record);  // The receiver is awake: full.
    } else {
      Note& slot = ring_[(head_ + count) % kNoteQueueCapacity];
      std::memcpy(slot.text, text, length);
      slot.length = length;
      slot.record = record != nullptr ? *record : SignalRecord();
      slot.occurrences = record != nullptr ? 1 : 0;
      // Sequentially consistent with a sleeping receiver's announcement
      // and its look at MayHavePending (SigQueue::Sleep).
      count_.store(count + 1, std::memory_order_seq_cst);
      dispatcher_sleeps = receiver_sleeping_.load(std::memory_order_relaxed);
      queued = true;
      result = SendResult::kQueued;
    }
    lock_.Unlock();
    if (queued) WakeReceiver(signo, dispatcher_sleeps);
    PORTSIG_TEST_HOOK(note_push_unlocked, length);
    // A handler nested up to here, perhaps after the receiver drained the
    // queue and went back to sleep, set a signal aside that nobody would
    // wake it for.
    for (;;) {
      t_in_push = false;
      // One nesting after this point does a whole Push of its own.
      if (!t_nested_set_aside) break;
      t_nested_set_aside = false;
      t_in_push = true;
      lock_.Lock();
      const bool dispatcher_sleeps =
          receiver_sleeping_.load(std::memory_order_relaxed);
      lock_.Unlock();
      WakeReceiver(signo, dispatcher_sleeps);
    }
    return result;
  }

  // After a note was queued (or set aside by a nested Push): wakes a
  // receiver asleep on the queue, which delivers it itself (one wake-up
  // from sender to receiver), else the dispatcher if it sleeps. The
  // dispatcher's flag is taken under the lock, as it set it: it either
  // looked at the queue after the note came, or sleeps and is woken here.
  // Caller: inside Push (t_in_push set), signals blocked.
  void WakeReceiver(int signo, bool dispatcher_sleeps) {
    if (WakeSleepingReceiver(signo) || !dispatcher_sleeps) return;
    lock_.Lock();
    const bool wake =
        receiver_sleeping_.exchange(false, std::memory_order_relaxed);
    lock_.Unlock();
    if (wake) wakeup_.Wake();
  }

  SpinLock lock_;
  Note ring_[kNoteQueueCapacity];  // guarded by lock_
  int head_ = 0;                   // guarded by lock_
  // Written under lock_; MayHavePending also reads it without.
  std::atomic<int> count_{0};
  // Set aside while the queue was full; written without the lock by a
  // nested Push, taken under it.
  AtomicSignalSet overflowed_;
  LatestRecord overflowed_latest_[kMaxSignal + 1];
  std::atomic<bool> receiver_sleeping_{false};
  // The role holder's: what is left of the current drain.
  int notes_left_ = 0;
  int overflow_cursor_ = 1;
  OneShotWakeup wakeup_;
};

}  // namespace

std::unique_ptr<SigQueue> NewNoteSigQueue() {
  return std::make_unique<NoteSigQueue>();
}

}  // namespace platform
}  // namespace portsig
