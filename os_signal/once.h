// Internal: NotifyOptions::once, a subscription relayed once. The first
// occurrence a subscriber takes ends what it asked for once (that signal or
// note; everything, for a context), as if Stop had been called for it.
//
// How (the handler map drives it, under its lock):
// - OnceSubscriptions records what each subscriber asked for once, and
//   says what a delivery ends (Releases, WhatEnds).
// - OnceRelease runs that removal while the subscriber takes the delivery,
//   before its receivers can see it (subscriber.h's BeforePublish): by the
//   time a receiver has the first signal, the subscription is gone and what
//   portsig stands in for is back (or portsig's handler lingers unwanted,
//   which does the same: runtime/deferred_restore.h), so a second signal
//   sent then takes it. Releasing after the fan-out instead left a window in
//   which a receiver had returned and the signal was still wanted.
// - FinishOnceReleases parks what was released on the stopping list, as
//   Stop does, and finishes the removal on a short-lived thread: the second
//   half of a Stop waits for the queue's receive role, which the thread
//   delivering holds (it cannot wait for itself to go idle).
//
// Not thread-safe by itself: the handler map guards it with its lock.
#ifndef PORTSIG_OS_SIGNAL_ONCE_H_
#define PORTSIG_OS_SIGNAL_ONCE_H_

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "os_signal/signal_value.h"
#include "os_signal/stopping_list.h"
#include "os_signal/subscriber.h"
#include "os_signal/table.h"
#include "os_signal/wanted.h"
#include "runtime/received_signal.h"

namespace portsig {
namespace os_signal_internal {

class OnceSubscriptions {
 public:
  // Whether nobody asked for once (the usual case, which costs the handler
  // map no lookup).
  bool empty() const { return once_.empty(); }
  // Whether nobody asked for once at all: then Forget and DropSignal do
  // nothing.
  bool none() const { return once_.empty() && releases_all_.empty(); }

  // Marks what `signals` names (every signal and note if empty) as relayed
  // once, or no longer once, for `subscriber`. With `releases_all` (and
  // `once`), the first delivery ends everything it wants (contexts).
  // Inline, like the checks below: a Notify+Stop that nobody's once
  // concerns makes no call here (issue 14, churn).
  void Set(Subscriber* subscriber, absl::Span<const Signal> signals, bool once,
           bool releases_all) {
    if (!once && once_.empty()) return;
    SetSlow(subscriber, signals, once, releases_all);
  }

  // Whether `received`, taken by `subscriber`, ends a once subscription.
  bool Releases(Subscriber* subscriber,
                const runtime::ReceivedSignal& received) const;
  // What that delivery ends.
  enum class Ends {
    kEverything,  // a context: all it wants
    kSignal,      // received.signo
    kAllNotes,    // "every note", which covers received's note
    kNote,        // received's note
  };
  Ends WhatEnds(Subscriber* subscriber,
                const runtime::ReceivedSignal& received) const;

  // The subscriber no longer wants that signal or note (or any note): it is
  // no longer relayed once either.
  void DropSignal(Subscriber* subscriber, int signo) {
    // Empty unless someone asked for once: no lookup then.
    if (!once_.empty()) DropSignalSlow(subscriber, signo);
  }
  void DropNote(Subscriber* subscriber, const std::string& note);
  void DropAllNotes(Subscriber* subscriber);
  // Drops everything kept for `subscriber` (it wants nothing any more).
  void Forget(Subscriber* subscriber) {
    if (!once_.empty() || !releases_all_.empty()) ForgetSlow(subscriber);
  }

 private:
  void SetSlow(Subscriber* subscriber, absl::Span<const Signal> signals,
               bool once, bool releases_all);
  void DropSignalSlow(Subscriber* subscriber, int signo);
  void ForgetSlow(Subscriber* subscriber);

  // What each subscriber asked to have relayed only once.
  HashMap<Subscriber*, Wanted> once_;
  HashSet<Subscriber*> releases_all_;
};

// What a delivery's once releases took from each subscriber.
using Released = HashMap<Subscriber*, Wanted>;

// The BeforePublish a fan-out hands to a subscriber whose once
// subscription the delivery ends: Run() calls `release(subscriber, lost)`,
// which removes what the delivery ends from the handler map and adds it to
// `*lost` (the subscriber's entry in `*released`). It runs on the
// delivering thread, which holds the handler map's lock across the whole
// fan-out. `release` must outlive it (FunctionRef).
class OnceRelease final : public BeforePublish {
 public:
  using ReleaseFn = absl::FunctionRef<void(Subscriber*, Wanted* lost)>;
  OnceRelease(ReleaseFn release, Released* released)
      : release_(release), released_(released) {}

  void set_subscriber(Subscriber* subscriber) { subscriber_ = subscriber; }
  void Run() override { release_(subscriber_, &(*released_)[subscriber_]); }

 private:
  const ReleaseFn release_;
  Released* const released_;
  Subscriber* subscriber_ = nullptr;
};

// After the fan-out, under the handler map's lock: parks what the releases
// took on `stopping` and starts a thread ("portsig-once") that calls
// `wait_and_unpark` with their ids, the second half of a Stop. If that
// thread cannot be made, the next Stop, Reset or Ignore finishes them
// (StoppingList::AddUnfinished).
void FinishOnceReleases(Released* released, StoppingList* stopping,
                        void (*wait_and_unpark)(const StoppingList::WaitList&));

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_ONCE_H_
