// The mask thread: a portsig thread that sleeps with every signal blocked
// but the faults and the signals subscribers named, so that a subscribed
// signal the program blocks in every one of its threads is still delivered.
// Go keeps such a thread (ensureSigM in its runtime); a process started with
// SIGTERM blocked (the mask is inherited across exec) receives SIGTERM
// through Notify.
//
// Why it does not undo item 7 of RELIABILITY.md ("Bugs the harnesses
// found"), which made portsig's other threads block everything: what let a
// portsig thread take a kill() meant for the sending thread was a thread
// that kept changing its mask (the note backend's lock takers): unblocking
// a signal that is pending for the process hands it to the unblocking
// thread at once. This thread sleeps in a condition variable and changes
// its mask only when the set of named signals changes (the first Notify or
// NotifyContext naming a signal; the last Stop, Reset, Ignore or once
// release of it): a thread that sends its process a signal it does not
// block still runs the handler before kill() returns
// (BlockedEverywhereTest.KillToSelfRunsTheHandlerFirstWhileTheMaskIsOpen).
//
// Only this thread can change its mask, so a change wakes it and waits
// until it has made it: a signal sent once Open returns meets the new mask.
// The runtime opens a signal after portsig's handler is installed (a signal
// pending since the program started is then delivered to portsig, not to
// the default action) and closes it before the disposition is restored (a
// signal sent after Stop stays pending, as it would without portsig). One
// exception, so that a subscribe/unsubscribe loop costs no wake-up of this
// thread: while a handler lingers after Stop (deferred_restore.h), its
// signal stays open if the thread that stopped it does not block it, and
// closes with the restore (runtime.cc, Disable).
//
// Started on the first signal opened; in a forked child, where the parent's
// thread does not exist, on the next Open or EnsureRunning (which
// runtime::EnsureDispatcher calls). Close needs no thread.
#ifndef PORTSIG_RUNTIME_MASK_THREAD_H_
#define PORTSIG_RUNTIME_MASK_THREAD_H_

#include <atomic>
#include <bitset>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "platform/signal_names.h"
#include "platform/sync.h"

namespace portsig {
namespace runtime {

class MaskThread {
 public:
  // The name the thread has where the platform layer names threads (on
  // Linux, what /proc and top -H show; platform/quiet_thread.h).
  static constexpr const char kName[] = "portsig-mask";

  MaskThread();
  MaskThread(const MaskThread&) = delete;
  MaskThread& operator=(const MaskThread&) = delete;

  // Unblocks `signo` on the thread and returns once its mask is open for
  // it, starting the thread if it does not run in this process.
  // ResourceExhausted, naming the thread, if it cannot be started: then
  // nothing changed. A fault signal is always open: nothing to do.
  absl::Status Open(int signo) ABSL_LOCKS_EXCLUDED(mu_);
  // The same for every signal in `signals`, with one change of the mask
  // (one wake-up of the thread, one wait for it), whatever their number.
  using SignalSet = std::bitset<platform::kMaxSignal + 1>;
  absl::Status Open(const SignalSet& signals) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks `signo` on the thread again and returns once it is blocked.
  // Needs no thread: where none runs, nothing is open.
  void Close(int signo) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `signo` is open (one atomic load; no lock, so that a Notify
  // and Stop of a lingering signal take none here: issue 14, churn).
  bool IsOpen(int signo) const {
    return (open_bits_.load(std::memory_order_acquire) & Bit(signo)) != 0;
  }
  // Whether every signal in `signals` is open and the thread runs with
  // them, so that Open would change nothing (one atomic load or two).
  bool AllOpen(const SignalSet& signals) const;

  // True while signals are open but no thread runs in this process (a
  // forked child): one atomic load.
  bool NeedsStart() const {
    return needs_start_.load(std::memory_order_acquire);
  }
  // Starts the thread with the open signals if it needs to (NeedsStart).
  // ResourceExhausted, naming it, if it cannot be made.
  absl::Status EnsureRunning() ABSL_LOCKS_EXCLUDED(mu_);

  // Around fork(): the lock is held across it, so the child never copies
  // it held by the thread; the child has no thread and makes its own when
  // it next needs one.
  void PrepareFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_);
  void ParentAfterFork() ABSL_UNLOCK_FUNCTION(mu_);
  void ChildAfterFork() ABSL_UNLOCK_FUNCTION(mu_);

 private:
  // Makes open_ the thread's mask: starts it with that mask if it does not
  // run, or asks it to change and waits until it has.
  absl::Status ApplyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The thread's body; its mask is open_ as of generation `started_with`.
  void Run(uint64_t started_with) ABSL_LOCKS_EXCLUDED(mu_);
  void UpdateNeedsStartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `signals` less the faults (open on every portsig thread) and bit 0:
  // what Open would have to open.
  static SignalSet WithoutFaults(const SignalSet& signals);
  // Copies open_ to open_bits_, after each change of open_.
  void PublishOpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static_assert(platform::kMaxSignal <= 64, "open_bits_ holds signals 1..64");
  // Signal signo as bit signo - 1 (bit 0 of a SignalSet is no signal).
  static uint64_t ToBits(const SignalSet& signals) {
    return (signals >> 1).to_ullong();
  }
  static constexpr uint64_t Bit(int signo) {
    return signo >= 1 && signo <= platform::kMaxSignal
               ? uint64_t{1} << (signo - 1)
               : 0;
  }

  ForkSafeMutex mu_;
  // Wakes the thread: requested_ moved past applied_.
  ForkSafeCondVar changed_;
  // Wakes those waiting for applied_ to catch up.
  ForkSafeCondVar applied_cv_;
  SignalSet open_ ABSL_GUARDED_BY(mu_);
  // Generations of open_: the one asked for, and the one the thread's mask
  // is.
  uint64_t requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> needs_start_{false};
  // open_ as bits (signo - 1), for the lock-free looks above. Published
  // once an Open has been applied, and as soon as a Close starts: a look
  // never finds a signal open that the thread's mask may not have yet.
  std::atomic<uint64_t> open_bits_{0};
};

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_MASK_THREAD_H_
