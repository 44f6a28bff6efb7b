#include "platform/sync.h"

#include <climits>
#include <ctime>

#ifdef __linux__
#include "platform/futex.h"
#endif

namespace portsig {

#ifdef __linux__

bool ForkSafeCondVar::WaitWithDeadline(ForkSafeMutex* mu,
                                       absl::Time deadline) {
  // Read under the mutex: a SignalAll after we unlock changes it, so the
  // futex wait below returns at once instead of missing the wake-up.
  const uint32_t seen = sequence_.load(std::memory_order_relaxed);
  waiters_.fetch_add(1, std::memory_order_relaxed);
  mu->Unlock();
  const absl::Duration left = deadline == absl::InfiniteFuture()
                                  ? absl::InfiniteDuration()
                                  : deadline - absl::Now();
  if (left > absl::ZeroDuration()) platform::FutexWait(&sequence_, seen, left);
  mu->Lock();
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  return deadline != absl::InfiniteFuture() && absl::Now() >= deadline;
}

void ForkSafeCondVar::SignalAll() {
  sequence_.fetch_add(1, std::memory_order_relaxed);
  // Waiters register under the mutex the caller holds, so none is missed;
  // in a forked child the count may include the parent's, which costs one
  // needless system call.
  if (waiters_.load(std::memory_order_relaxed) != 0) {
    platform::FutexWake(&sequence_, INT_MAX);
  }
}

#else  // !__linux__

bool ForkSafeCondVar::WaitWithDeadline(ForkSafeMutex* mu,
                                       absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    pthread_cond_wait(&cv_, &mu->mu_);
    return false;
  }
  struct timespec until = absl::ToTimespec(deadline);
  pthread_cond_timedwait(&cv_, &mu->mu_, &until);
  return absl::Now() >= deadline;
}

void ForkSafeCondVar::SignalAll() { pthread_cond_broadcast(&cv_); }

#endif  // __linux__

}  // namespace portsig
