#include "os_signal/signal_index.h"

#include <cstdint>
#include <memory>

namespace portsig {
namespace os_signal_internal {

bool SignalIndex::Contains(int signo, const Subscriber* subscriber) const {
  if (subscriber->index_slots_ == nullptr) return false;
  const Members& members = members_[signo];
  const uint32_t slot = subscriber->index_slots_[signo];
  // A stale slot (left by an earlier membership) points past the end or at
  // another subscriber.
  return slot < members.size() && members[slot] == subscriber;
}

bool SignalIndex::Insert(int signo, Subscriber* subscriber) {
  if (Contains(signo, subscriber)) return false;
  if (subscriber->index_slots_ == nullptr) {
    // Once per subscriber, on its first Notify.
    subscriber->index_slots_ =
        std::make_unique<uint32_t[]>(platform::kMaxSignal + 1);
  }
  Members& members = members_[signo];
  subscriber->index_slots_[signo] = static_cast<uint32_t>(members.size());
  members.push_back(subscriber);
  return true;
}

bool SignalIndex::Erase(int signo, Subscriber* subscriber) {
  if (!Contains(signo, subscriber)) return false;
  Members& members = members_[signo];
  const uint32_t slot = subscriber->index_slots_[signo];
  Subscriber* last = members.back();
  members[slot] = last;
  last->index_slots_[signo] = slot;
  members.pop_back();
  return true;
}

}  // namespace os_signal_internal
}  // namespace portsig
