#include "os_signal/stopping_list.h"

#include <algorithm>
#include <utility>

#include "absl/algorithm/container.h"
#include "os_signal/table.h"
#include "platform/test_hooks.h"
#include "runtime/runtime.h"

namespace portsig {
namespace os_signal_internal {

void StoppingList::Park(Subscriber* subscriber, Wanted lost, WaitList* ids) {
  if (lost.empty()) return;
  ids->push_back(++next_id_);
  entries_.push_back({ids->back(), subscriber, std::move(lost)});
}

void StoppingList::CoverEarlier(Subscriber* removed, WaitList* ids) {
  if (!unfinished_.empty()) {
    ids->insert(ids->end(), unfinished_.begin(), unfinished_.end());
    unfinished_.clear();
  }
  if (removed == nullptr) return;
  // An id listed twice costs nothing but a second look when unparking.
  for (const Entry& e : entries_) {
    if (e.subscriber == removed) ids->push_back(e.id);
  }
}

void StoppingList::AddUnfinished(const WaitList& ids) {
  unfinished_.insert(unfinished_.end(), ids.begin(), ids.end());
}

void StoppingList::AwaitDeliveriesInFlight() {
  PORTSIG_TEST_HOOK(stop_between_phases, 0);
  runtime::WaitUntilIdle();
}

void StoppingList::Unpark(const WaitList& ids) {
  // Usually one id (a Stop); a Reset of many channels parks many, where a
  // set keeps this linear.
  constexpr size_t kLinearSearchUpTo = 8;
  auto unpark = [this](auto finished) {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), finished),
                   entries_.end());
  };
  if (ids.size() <= kLinearSearchUpTo) {
    unpark([&](const Entry& e) { return absl::c_linear_search(ids, e.id); });
  } else {
    const HashSet<uint64_t> done(ids.begin(), ids.end());
    unpark([&](const Entry& e) { return done.contains(e.id); });
  }
}

void StoppingList::DeliverToParked(
    const runtime::ReceivedSignal& received, const Delivery& delivery,
    absl::FunctionRef<bool(Subscriber*)> wants_now,
    Delivered* delivered) const {
  for (const Entry& entry : entries_) {
    if (!entry.wanted.Wants(received)) continue;
    // Re-subscribed meanwhile: it got the signal already.
    if (wants_now(entry.subscriber)) continue;
    // A subscriber can be parked more than once (a once release and a
    // Stop, say); it gets the signal once.
    if (absl::c_linear_search(*delivered, entry.subscriber)) continue;
    delivered->push_back(entry.subscriber);
    entry.subscriber->Deliver(delivery, nullptr);
  }
}

}  // namespace os_signal_internal
}  // namespace portsig
