// Internal: the handler map. Which subscriber (channel or context) wants
// which signals, how many want each signal; it parks what Stop removes on
// the stopping list (stopping_list.h).
//
// Stop follows Go's fix for issue 14571 (stopping_list.h): it removes the
// subscriber and parks it on the stopping list with what it wanted, so a
// signal that raced Stop still reaches it. Reset and Ignore remove
// subscriptions the same way.
//
// NotifyOptions::once is the same removal, done by the thread delivering
// the first occurrence, before the subscriber's receivers can see it; a
// short-lived thread finishes it (once.h).
//
// Fan-out reads a per-signal index, so its cost grows with the subscribers
// of the delivered signal, not with every registered channel.
//
// Lock order: this lock first, then a subscriber's (Deliver runs under
// this one), a ChannelGroup's, the runtime's; never the other way round.
//
// A signal some subscriber named in Notify (not one it has only as part of
// "every signal") is delivered even where the program blocks it in every
// thread: the runtime opens it on its mask thread while anyone names it
// (and, in one case, while its handler lingers after: runtime::Disable).
// "Every signal" does not open what the program blocks everywhere, which is
// how a host takes a signal with sigwait or signalfd.
#ifndef PORTSIG_OS_SIGNAL_HANDLER_MAP_H_
#define PORTSIG_OS_SIGNAL_HANDLER_MAP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "os_signal/delivery.h"
#include "os_signal/notify_options.h"
#include "os_signal/once.h"
#include "os_signal/queue_requests.h"
#include "os_signal/signal_index.h"
#include "os_signal/signal_value.h"
#include "os_signal/stopping_list.h"
#include "os_signal/subscriber.h"
#include "os_signal/table.h"
#include "os_signal/wanted.h"
#include "platform/signal_names.h"
#include "platform/sync.h"
#include "runtime/received_signal.h"

namespace portsig {
namespace os_signal_internal {

// Add, Remove, Reset and Ignore (Notify, NotifyContext, Stop, destructors,
// Reset, Ignore) are no cancellation points: they wait inside (the mask
// thread changing its mask, a condition variable; the runtime making a
// thread; the main thread's stack bounds, read from /proc), and a
// cancellation pending when a host thread called them used to act there
// and unwind out of the call half done: a Stop left its channel listed for
// the signals it had not dropped yet, and the host then freed it. A
// pending cancellation acts at the host's next cancellation point after
// the call. Reset and Ignore hold cancellation off throughout. Add and
// Remove hold it off lazily (LazyCancellationOff, platform/sync.h), from
// the first step that may reach a cancellation point: a Notify or Stop of
// a signal others also want (issue 14's churn) reaches none and costs no
// pthread_setcancelstate. Their steps that can reach one, each preceded
// by HoldCancellationOffLocked() or the guard's HoldOff(): the runtime's
// first start (Init) and a dispatcher or mask thread to start
// (EnsureDispatcher), the first subscriber's install (runtime::Enable)
// and the last one's restore (runtime::Disable), any change of the mask
// thread's mask (OpenMask, CloseMask), queue mode's capacity, the note
// slot (EnableNotes, DisableNotes), a failed Add's rollback, Notify() of
// every signal, and Remove's wait for deliveries in flight. What is left
// on the common path takes pthread mutexes (no cancellation point), reads
// atomics, allocates, and looks at the stack bounds, which holds
// cancellation off itself the one time it reads /proc (this_thread.h).
class HandlerMap {
 public:
  static HandlerMap& Get();

  // `once_releases_all`: with options.once, the first delivery releases
  // everything the subscriber wants (contexts), not just that signal.
  absl::Status Add(Subscriber* subscriber, absl::Span<const Signal> signals,
                   const NotifyOptions& options = NotifyOptions(),
                   bool once_releases_all = false);
  // No-op for an unknown subscriber. Returns once nothing more is delivered
  // to it.
  void Remove(Subscriber* subscriber);
  absl::Status Reset(absl::Span<const Signal> signals);
  absl::Status Ignore(absl::Span<const Signal> signals);

  // Whether any subscriber wants this text note now.
  bool WantsNote(absl::string_view note);

  // Called on whichever thread holds the queue's receive role
  // (runtime.h's DeliveryCallback): the dispatcher, a receiver polling or
  // woken from its sleep in a channel's receive, a WaitUntilIdle caller
  // (Stop, Reset, Ignore, once's finishing thread), a waiter delivering
  // for itself without a dispatcher.
  void Deliver(const runtime::ReceivedSignal& received);

  // Held across fork() so the child never inherits a half-made change.
  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(mu_) { mu_.Unlock(); }
  // The child also drops the stopping list: the threads that would take
  // their entries off it (Stop callers, once's finishing thread) exist only
  // in the parent; and every subscriber that lives on the stack of a parent
  // thread other than the one that forked (Subscriber::stack_owner_): that
  // stack belongs to the child's next thread. What only those wanted gets
  // back what portsig stands in for, at once (runtime::DisableAtOnce).
  void ResetInForkedChild() ABSL_UNLOCK_FUNCTION(mu_);

 private:
  enum class Action { kReset, kIgnore };

  HandlerMap() = default;
  absl::Status EnsureRuntimeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Cancel(absl::Span<const Signal> signals, Action action);
  // Drops one signal or note from `subscriber`, parking what it loses. When
  // the last subscriber of a signal goes, the runtime disables it, unless
  // `disable_when_last` is false (Ignore installs SIG_IGN instead, with no
  // window in which the original disposition is back).
  void DropSignalLocked(Subscriber* subscriber, int signo, Wanted* parked,
                        bool disable_when_last = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropNoteLocked(Subscriber* subscriber, const std::string& note,
                      Wanted* parked) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropAllNotesLocked(Subscriber* subscriber, Wanted* parked)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops everything in `what` from `subscriber`, parking what it loses.
  void DropLocked(Subscriber* subscriber, const Wanted& what, Wanted* parked)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Only this changes the queue's note slot, so a call that would not
  // change it is skipped: a Notify or Stop of signals alone costs no atomic
  // read-modify-write, and (inline) no call, here.
  void UpdateNotesWantedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!runtime_ready_) return;
    const bool wanted = !all_notes_.empty() || !by_note_.empty();
    if (wanted != notes_enabled_) SetNotesWantedLocked(wanted);
  }
  void SetNotesWantedLocked(bool wanted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes what `received` ends of `subscriber`'s once subscription (all
  // of it for a context), adding it to `*lost` (OnceRelease).
  void ReleaseOnceLocked(Subscriber* subscriber,
                         const runtime::ReceivedSignal& received, Wanted* lost)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls f(subscriber) for each current subscriber of `received`.
  template <typename F>
  void ForEachCurrentLocked(const runtime::ReceivedSignal& received, F f)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What `subscriber` wants, made empty on first use.
  Wanted& WantedLocked(Subscriber* subscriber)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Remembers the thread whose stack holds `subscriber`, the first time it
  // is subscribed from that thread (ResetInForkedChild drops those of
  // other threads).
  void RecordStackOwnerLocked(Subscriber* subscriber)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same, or null if it never asked for anything.
  Wanted* FindWantedLocked(Subscriber* subscriber)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the once bookkeeping of `subscriber` if it wants nothing any
  // more.
  void ForgetIfEmptyLocked(Subscriber* subscriber)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Add's whole work when it only adds `subscriber` to a signal that is
  // installed, open and wanted by others already; false (nothing done) if
  // there is more to it.
  bool AddNamedSignalFastLocked(Subscriber* subscriber,
                                absl::Span<const Signal> signals,
                                const NotifyOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TakeAllLocked's whole work when `subscriber` wants only signals that
  // others want and name too, and nothing is parked or once; false
  // (nothing done) otherwise.
  bool TakeSharedSignalsFastLocked(Subscriber* subscriber, Wanted* lost)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes everything `subscriber` wants, moving it into `*lost` whole
  // (Stop, and a context's once release): no copy to edit, no lookup per
  // signal. Returns false if it wanted nothing.
  bool TakeAllLocked(Subscriber* subscriber, Wanted* lost)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes `subscriber` out of the indexes of one signal or note it no longer
  // wants; `named`: it had named the signal (Wanted::named).
  void UnindexSignalLocked(Subscriber* subscriber, int signo, bool named,
                           bool disable_when_last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records that `wanted` names signo. `newly` gets signo if it was not
  // named; `to_open` gets it if it is the first name, so that the caller
  // opens it on the runtime's mask thread (runtime::OpenMask), together
  // with the others of the same call: one wake-up of that thread per call.
  void NameLocked(Wanted* wanted, int signo, SignalBits* newly,
                  SignalBits* to_open) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The reverse, for a name given up: the last closes it there.
  void UnnameLocked(int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnindexNoteLocked(Subscriber* subscriber, const std::string& note)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  using WaitList = StoppingList::WaitList;
  // Parks what `subscriber` lost (StoppingList::Park).
  void ParkLocked(Subscriber* subscriber, Wanted lost, WaitList* ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    stopping_.Park(subscriber, std::move(lost), ids);
  }
  // Waits for the runtime to go idle, then drops the parked entries.
  void WaitAndUnpark(const WaitList& ids) ABSL_LOCKS_EXCLUDED(mu_);
  // The same on the handler map, for once releases' finishing thread.
  static void FinishOnceRelease(const WaitList& ids);

  // Add's and Remove's guard while they hold mu_ (BindCancellation):
  // steps inside helpers that may reach a cancellation point hold it off
  // through this first. Null for every other caller: Reset and Ignore hold
  // cancellation off throughout; fan-outs (and the once releases they run)
  // run on portsig's threads or on receivers that hold it off while they
  // deliver; the fork handler makes no call that is one.
  void HoldCancellationOffLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (cancellation_ != nullptr) cancellation_->HoldOff();
  }
  class BindCancellation {
   public:
    BindCancellation(HandlerMap* map, LazyCancellationOff* cancellation)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(map->mu_)
        : map_(map) {
      map->cancellation_ = cancellation;
    }
    // Runs before the lock guard declared ahead of it lets mu_ go; the
    // analysis cannot see that.
    ~BindCancellation() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      map_->cancellation_ = nullptr;
    }
    BindCancellation(const BindCancellation&) = delete;
    BindCancellation& operator=(const BindCancellation&) = delete;

   private:
    HandlerMap* const map_;
  };

  ForkSafeMutex mu_;
  LazyCancellationOff* cancellation_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool runtime_ready_ ABSL_GUARDED_BY(mu_) = false;
  // In a forked child's fork handler, which must make no thread: a signal
  // nobody wants any more is restored at once, not after the restore delay.
  bool in_fork_child_ ABSL_GUARDED_BY(mu_) = false;
  // Whether the runtime has the note slot enabled (UpdateNotesWantedLocked).
  bool notes_enabled_ ABSL_GUARDED_BY(mu_) = false;
  // Per-signal index; a signal's member count is its reference count.
  SignalIndex by_signal_ ABSL_GUARDED_BY(mu_);
  // How many subscribers name each signal (Wanted::named).
  int named_count_[platform::kMaxSignal + 1] ABSL_GUARDED_BY(mu_) = {};
  HashMap<std::string, HashSet<Subscriber*>> by_note_ ABSL_GUARDED_BY(mu_);
  HashSet<Subscriber*> all_notes_ ABSL_GUARDED_BY(mu_);
  // What each subscriber asked to have relayed only once.
  OnceSubscriptions once_ ABSL_GUARDED_BY(mu_);
  // Queue-mode capacity each subscriber asked for, per real-time signal.
  QueueRequests queue_requests_ ABSL_GUARDED_BY(mu_);
  StoppingList stopping_ ABSL_GUARDED_BY(mu_);
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_HANDLER_MAP_H_
