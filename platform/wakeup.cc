#include "platform/wakeup.h"

#include <sched.h>

#include <chrono>

#include "platform/spin.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

void OneShotWakeup::Clear() { state_.store(kClear, std::memory_order_release); }

bool OneShotWakeup::Wake() {
  uint32_t previous = state_.exchange(kWoken, std::memory_order_acq_rel);
  if (previous != kSleeping) return false;
  parker_.Wake(&state_);
  return true;
}

void OneShotWakeup::Sleep(bool spin) {
  // A Wake() during the spin finds kClear and makes no system call.
  if (spin && SpinUntil([this] {
        return state_.load(std::memory_order_acquire) != kClear;
      })) {
    return;
  }
  PORTSIG_TEST_HOOK(wakeup_parking, 0);
  uint32_t expected = kClear;
  if (!state_.compare_exchange_strong(expected, kSleeping,
                                      std::memory_order_acq_rel)) {
    return;  // Already woken.
  }
  while (state_.load(std::memory_order_acquire) == kSleeping) {
    parker_.Wait(&state_, kSleeping);
  }
}

bool OneShotWakeup::SleepFor(absl::Duration timeout) {
  uint32_t expected = kClear;
  if (!state_.compare_exchange_strong(expected, kSleeping,
                                      std::memory_order_acq_rel)) {
    return true;  // Already woken.
  }
  // The monotonic clock: a wall-clock step must not stretch the sleep.
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  while (state_.load(std::memory_order_acquire) == kSleeping) {
    const absl::Duration left =
        absl::FromChrono(deadline - std::chrono::steady_clock::now());
    if (left <= absl::ZeroDuration()) {
      // Stop sleeping unless a Wake() got here first.
      expected = kSleeping;
      if (state_.compare_exchange_strong(expected, kClear,
                                         std::memory_order_acq_rel)) {
        return false;
      }
      break;
    }
    const struct timespec relative = absl::ToTimespec(left);
    parker_.Wait(&state_, kSleeping, &relative);
  }
  return true;
}

bool OneShotWakeup::Woken() const {
  return state_.load(std::memory_order_acquire) == kWoken;
}

void YieldProcessor() { sched_yield(); }

}  // namespace platform
}  // namespace portsig
