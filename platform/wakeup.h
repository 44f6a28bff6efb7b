// OneShotWakeup: a sleep/wakeup pair that a signal handler may trigger.
//
// Promise (Go's runtime "note"): after Clear(), one Wake() lets exactly the
// current or next Sleep() return; further Wake() calls before the next
// Clear() are harmless. Wake() is async-signal-safe: one atomic exchange and,
// only when a sleeper is parked, one wake system call (platform/parker.h: a
// futex wake on Linux, a pipe write elsewhere). Sleep() is for a single
// receiving thread; it spins for the spin budget (platform/spin.h) before
// it parks.
//
// Written by hand because no library offers a wakeup that is legal inside a
// signal handler.
#ifndef PORTSIG_PLATFORM_WAKEUP_H_
#define PORTSIG_PLATFORM_WAKEUP_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "platform/parker.h"

namespace portsig {
namespace platform {

class OneShotWakeup {
 public:
  OneShotWakeup() = default;
  OneShotWakeup(const OneShotWakeup&) = delete;
  OneShotWakeup& operator=(const OneShotWakeup&) = delete;

  // Re-arms the wakeup. Only the receiving thread calls it, never while it is
  // asleep; in a forked child, which has no receiver, its fork handler may.
  void Clear();
  // Async-signal-safe. Returns whether it had to wake a parked sleeper (a
  // system call); false when the sleeper was running or still spinning.
  bool Wake();
  // Blocks until Wake() has been called since the last Clear(). `spin`:
  // whether to spin for the budget first.
  void Sleep(bool spin = true);
  // As Sleep without the spin, but gives up after `timeout`: true if woken,
  // false if not, in which case the wakeup is as if this call never slept
  // (a later Wake() is for the next Sleep).
  bool SleepFor(absl::Duration timeout);
  // Whether Wake() has been called since the last Clear().
  bool Woken() const;

 private:
  // kClear -> kWoken, or kClear -> kSleeping -> kWoken.
  enum : uint32_t { kClear = 0, kSleeping = 1, kWoken = 2 };
  std::atomic<uint32_t> state_{kClear};
  Parker parker_;
};

// Gives up the processor briefly while spinning on another thread's progress.
void YieldProcessor();

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_WAKEUP_H_
