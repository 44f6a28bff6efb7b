#include "platform/sync.h"

#include <time.h>

namespace portsig {

ForkSafeCondVar::ForkSafeCondVar() { ReinitInChild(); }

ForkSafeCondVar::~ForkSafeCondVar() { pthread_cond_destroy(&cv_); }

// Also the constructor's initialization. Not pthread_cond_destroy first: it,
// too, waits for the counted waiters.
void ForkSafeCondVar::ReinitInChild() {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cv_, &attr);
  pthread_condattr_destroy(&attr);
}

void ForkSafeCondVar::Wait(ForkSafeMutex* mu) {
  pthread_cond_wait(&cv_, &mu->mu_);
}

bool ForkSafeCondVar::WaitWithDeadline(ForkSafeMutex* mu, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    Wait(mu);
    return false;
  }
  // The deadline is wall-clock time; wait on the monotonic clock for the
  // time left, so a clock step cannot stretch or cut the wait.
  const absl::Duration left =
      std::max(deadline - absl::Now(), absl::ZeroDuration());
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const struct timespec until =
      absl::ToTimespec(absl::DurationFromTimespec(now) + left);
  pthread_cond_timedwait(&cv_, &mu->mu_, &until);
  return absl::Now() >= deadline;
}

void ForkSafeCondVar::SignalAll() { pthread_cond_broadcast(&cv_); }

}  // namespace portsig
