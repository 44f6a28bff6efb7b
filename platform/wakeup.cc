#include "platform/wakeup.h"

#include <sched.h>

#include <chrono>

#include "platform/futex.h"
#include "platform/spin.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

OneShotWakeup::OneShotWakeup() {
#ifndef __linux__
  sem_init(&sem_, 0, 0);
#endif
}

OneShotWakeup::~OneShotWakeup() {
#ifndef __linux__
  sem_destroy(&sem_);
#endif
}

void OneShotWakeup::Clear() {
  state_.store(kClear, std::memory_order_release);
#ifndef __linux__
  while (sem_trywait(&sem_) == 0) {
  }
#endif
}

bool OneShotWakeup::Wake() {
  uint32_t previous = state_.exchange(kWoken, std::memory_order_acq_rel);
  if (previous != kSleeping) return false;
#ifdef __linux__
  FutexWake(&state_, 1);
#else
  sem_post(&sem_);
#endif
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
#ifdef __linux__
  while (state_.load(std::memory_order_acquire) == kSleeping) {
    FutexWait(&state_, kSleeping);
  }
#else
  while (state_.load(std::memory_order_acquire) == kSleeping) {
    sem_wait(&sem_);
  }
#endif
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
#ifdef __linux__
    const struct timespec relative = absl::ToTimespec(left);
    FutexWait(&state_, kSleeping, &relative);
#else
    // sem_timedwait takes a wall-clock deadline; a step can only end this
    // slice early or late, and the loop re-checks the monotonic time.
    const struct timespec absolute = absl::ToTimespec(absl::Now() + left);
    sem_timedwait(&sem_, &absolute);
#endif
  }
  return true;  // Clear() takes a post the timed wait left behind.
}

bool OneShotWakeup::Woken() const {
  return state_.load(std::memory_order_acquire) == kWoken;
}

void YieldProcessor() { sched_yield(); }

}  // namespace platform
}  // namespace portsig
