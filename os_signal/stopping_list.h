// Internal: the stopping list, Go's fix for its issue 14571 and the reason
// portsig's Stop never loses a signal that races it.
//
// The race it closes: a signal is caught by the async handler and sits in
// the queue (or is being fanned out) while Stop removes the subscriber.
// If Stop only took the subscriber out of the handler map, that signal
// would find nobody: the subscriber asked for it, it arrived before Stop
// returned, and it would be neither delivered nor left to the disposition
// from before portsig (which Stop may be putting back at that moment).
//
// So Stop (and Reset, Ignore, and the release of a once subscription)
// removes the subscriber from the map and, in the same critical section,
// parks it here with what it wanted (Park). It then releases the map's lock,
// waits until the runtime is idle, that is until every signal caught before
// the removal has been delivered (AwaitDeliveriesInFlight), and only then
// drops the entry (Unpark). Meanwhile the fan-out delivers to parked
// subscribers that wanted the signal too (DeliverToParked). A signal that
// raced Stop therefore reaches the subscriber, or arrives after the
// disposition was restored and takes it; and once Stop returns nothing more
// is delivered into the subscriber, so the caller may free it.
//
// Stop parks nothing when, still holding the map's lock after the removal,
// it finds the runtime idle (no sender in the handler, nothing queued, no
// receiver delivering) and no other entry for the subscriber: every signal
// caught before the removal has been fanned out already, and there is
// nothing to wait for (handler_map.cc, HandlerMap::Remove, says why).
//
// Not thread-safe by itself: the handler map guards it with its lock, and
// every method but AwaitDeliveriesInFlight is called under that lock.
#ifndef PORTSIG_OS_SIGNAL_STOPPING_LIST_H_
#define PORTSIG_OS_SIGNAL_STOPPING_LIST_H_

#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "os_signal/subscriber.h"
#include "os_signal/wanted.h"
#include "runtime/received_signal.h"

namespace portsig {
namespace os_signal_internal {

class StoppingList {
 public:
  // Ids of entries one wait covers; usually one (a Stop).
  using WaitList = absl::InlinedVector<uint64_t, 2>;
  // Subscribers a delivery reached already.
  using Delivered = absl::InlinedVector<Subscriber*, 4>;

  // Parks what `subscriber` lost (nothing if it lost nothing) and adds the
  // entry to `ids`. Must happen in the same critical section that removed it
  // from the map, or a delivery in between would find the subscriber in
  // neither place.
  void Park(Subscriber* subscriber, Wanted lost, WaitList* ids);
  // Adds to `ids` the entries a wait that starts after this critical
  // section covers too: those whose own finishing thread could not start
  // (AddUnfinished), and with `removed`, every other entry parked for that
  // subscriber.
  void CoverEarlier(Subscriber* removed, WaitList* ids);
  // Entries whose finishing thread could not start: the next wait takes
  // them (CoverEarlier).
  void AddUnfinished(const WaitList& ids);
  // Waits, without the map's lock, until the runtime is idle: every signal
  // caught before the entries were parked has been delivered.
  static void AwaitDeliveriesInFlight();
  // Drops the entries; after AwaitDeliveriesInFlight.
  void Unpark(const WaitList& ids);

  // The parked half of a fan-out: delivers to each parked subscriber that
  // wanted `received`, once per subscriber, skipping those in `*delivered`
  // and those `wants_now` (current subscribers, which got it already).
  // Adds those it delivers to to `*delivered`.
  void DeliverToParked(const runtime::ReceivedSignal& received,
                       const Delivery& delivery,
                       absl::FunctionRef<bool(Subscriber*)> wants_now,
                       Delivered* delivered) const;

  // In a forked child: the threads that would unpark the entries (Stop
  // callers, once's finishing thread) exist only in the parent.
  void DropEntries() { entries_.clear(); }

  // Whether nothing is parked and nothing is left unfinished: a Stop then
  // has no earlier entry to cover (CoverEarlier would add no id).
  bool empty() const { return entries_.empty() && unfinished_.empty(); }

 private:
  struct Entry {
    uint64_t id;
    Subscriber* subscriber;
    Wanted wanted;
  };

  std::vector<Entry> entries_;
  uint64_t next_id_ = 0;
  // Parked by a once release whose finishing thread could not start.
  std::vector<uint64_t> unfinished_;
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_STOPPING_LIST_H_
