// Deadline: when a timed wait of portsig's ends, as a point on
// CLOCK_MONOTONIC.
//
// ReceiveFor and WaitFor promise to wait `timeout` of elapsed time. A
// wall-clock deadline (absl::Now() + timeout) that each wake-up compares
// with absl::Now() again is moved by every step of the wall clock: a step
// back of an hour while a receiver waits made it wait an hour more (and a
// step forward cut it short). The monotonic clock never steps, so waits
// and spins measured on it last what they were asked to. ReceiveUntil and
// WaitUntil take a wall-clock time: it is turned into a Deadline once, when
// the call begins (a later step of the wall clock does not move it).
//
// A value type; reading the clock is clock_gettime(CLOCK_MONOTONIC), which
// cannot fail for that clock.
#ifndef PORTSIG_PLATFORM_DEADLINE_H_
#define PORTSIG_PLATFORM_DEADLINE_H_

#include <time.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace portsig {
namespace platform {

class Deadline {
 public:
  // Never passes.
  static Deadline Infinite() { return Deadline(absl::InfiniteDuration()); }
  // `timeout` from now; zero or less: already passed.
  static Deadline In(absl::Duration timeout) {
    if (timeout == absl::InfiniteDuration()) return Infinite();
    return Deadline(MonotonicNow() + std::max(timeout, absl::ZeroDuration()));
  }
  // The wall-clock time `deadline`, read against absl::Now() once, here.
  static Deadline At(absl::Time deadline) {
    if (deadline == absl::InfiniteFuture()) return Infinite();
    return In(deadline - absl::Now());
  }

  bool infinite() const { return at_ == absl::InfiniteDuration(); }
  bool Passed() const { return !infinite() && MonotonicNow() >= at_; }
  // The earlier of this and `timeout` from now.
  Deadline EarlierOf(absl::Duration timeout) const {
    const Deadline other = In(timeout);
    return other.at_ < at_ ? other : *this;
  }
  // The deadline as an absolute CLOCK_MONOTONIC time, for
  // pthread_cond_timedwait on a condition variable using that clock. Not
  // for an infinite deadline.
  struct timespec ToMonotonicTimespec() const {
    return absl::ToTimespec(at_);
  }

  // What is left of it: zero or less once passed. Not for an infinite
  // deadline.
  absl::Duration Remaining() const { return at_ - MonotonicNow(); }

  // Time since CLOCK_MONOTONIC's (arbitrary) origin.
  static absl::Duration MonotonicNow() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return absl::DurationFromTimespec(now);
  }

 private:
  explicit Deadline(absl::Duration at) : at_(at) {}
  // On CLOCK_MONOTONIC; InfiniteDuration: never.
  absl::Duration at_;
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_DEADLINE_H_
