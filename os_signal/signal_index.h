// Internal: the handler map's per-signal index, which subscribers want
// each signal. It promises the handler map (its only user, under its lock)
// that adding and removing a subscriber costs the same whatever the number
// of other subscribers of the signal, with no hashing and no allocation
// once a subscriber has been indexed before, and that a fan-out walks the
// members of one signal in contiguous memory.
//
// Why not a hash set per signal: Notify+Stop with 1,000 other subscribers
// of the same signal hashed and probed a 2,048-slot table twice per pair,
// about 300 instructions and a cache miss or two each time (issue 14,
// "churn"). Here each subscriber remembers its position in each signal's
// member list (Subscriber::index_slots_), and removal moves the last member
// into the hole. The order of members is therefore not the order of
// Notify calls; nothing depends on it.
#ifndef PORTSIG_OS_SIGNAL_SIGNAL_INDEX_H_
#define PORTSIG_OS_SIGNAL_SIGNAL_INDEX_H_

#include <vector>

#include "os_signal/subscriber.h"
#include "platform/signal_names.h"

namespace portsig {
namespace os_signal_internal {

class SignalIndex {
 public:
  using Members = std::vector<Subscriber*>;

  // Adds `subscriber` to signo's members; false if it was one already.
  bool Insert(int signo, Subscriber* subscriber);
  // Removes it; false if it was not a member.
  bool Erase(int signo, Subscriber* subscriber);
  bool Contains(int signo, const Subscriber* subscriber) const;
  // The members of signo, in no particular order. Invalidated by Insert
  // and Erase of the same signal.
  const Members& Of(int signo) const { return members_[signo]; }

 private:
  Members members_[platform::kMaxSignal + 1];
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_SIGNAL_INDEX_H_
