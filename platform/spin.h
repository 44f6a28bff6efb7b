// Spin, then park: how long a thread about to sleep until a signal arrives
// first looks for one while yielding the processor.
//
// Without spinning, every delivery wakes a parked thread: the receiver
// asleep on the queue (SigQueue's sleeping receivers) or, when none sleeps,
// the dispatcher, which may then have to wake another (a poll loop waiting
// on a ReadyFd). Waking a parked thread costs the waker a system call (a
// futex wake on Linux, a pipe write on the generic POSIX layer) and the
// woken thread 5-30 us when its (virtual) CPU had halted. A receiver that
// spins polls the queue itself (SigQueue's polling) and takes the signal
// without waiting to be woken; on the posix backend the handler then wakes
// nobody at all. The dispatcher spins only while no receiver does. Go's
// runtime gets a similar effect by keeping an idle thread spinning for work.
//
// The price is CPU: a spinning thread spends up to the budget every time it
// would otherwise sleep. The default, zero, parks at once. The budget is
// process-wide and read without locks; a change applies from the next wait.
#ifndef PORTSIG_PLATFORM_SPIN_H_
#define PORTSIG_PLATFORM_SPIN_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "platform/deadline.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

// Budgets above this are refused: beyond a scheduler tick, spinning only
// burns CPU that a sleeping thread would have given back.
inline constexpr absl::Duration kMaxSpinBeforeSleep = absl::Milliseconds(10);

// Sets the budget; InvalidArgument naming the value, and no change, if it
// is negative or above kMaxSpinBeforeSleep.
absl::Status SetSpinBeforeSleep(absl::Duration budget);
absl::Duration SpinBeforeSleep();

namespace spin_internal {
extern std::atomic<int64_t> budget_ns;
// One turn of a spin: lets another runnable thread have this processor.
void Pause();
}  // namespace spin_internal

// Whether a budget is set, so callers can skip setting up a spin at all.
inline bool SpinEnabled() {
  return spin_internal::budget_ns.load(std::memory_order_relaxed) > 0;
}

// Calls ready() until it returns true, the budget has passed, or `deadline`
// has; yields the processor between calls. Returns whether ready() did.
// Measured on the monotonic clock: a step back of the wall clock would
// otherwise keep a thread spinning for as long as the step.
template <typename Ready>
bool SpinUntil(const Ready& ready,
               const Deadline& deadline = Deadline::Infinite()) {
  const int64_t budget_ns =
      spin_internal::budget_ns.load(std::memory_order_relaxed);
  if (budget_ns <= 0) return false;
  PORTSIG_TEST_HOOK(spin_started, 0);
  const Deadline end = deadline.EarlierOf(absl::Nanoseconds(budget_ns));
  for (;;) {
    if (ready()) return true;
    if (end.Passed()) return false;
    spin_internal::Pause();
  }
}

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SPIN_H_
