#include "platform/wakeup.h"

#include <sched.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace portsig {
namespace platform {
namespace {

#ifdef __linux__
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
#if defined(__SANITIZE_THREAD__)
  // TSan runs a caught signal's handler only when the thread next enters an
  // intercepted call, which a raw futex wait never is; wait in short slices
  // and pass through usleep(0) between them (TSan builds only).
  struct timespec slice = {0, 5 * 1000 * 1000};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, &slice, nullptr, 0);
  usleep(0);
#else
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, nullptr, nullptr, 0);
#endif
}
void FutexWakeOne(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1,
          nullptr, nullptr, 0);
}
#endif

}  // namespace

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

void OneShotWakeup::Wake() {
  uint32_t previous = state_.exchange(kWoken, std::memory_order_acq_rel);
  if (previous == kSleeping) {
#ifdef __linux__
    FutexWakeOne(&state_);
#else
    sem_post(&sem_);
#endif
  }
}

void OneShotWakeup::Sleep() {
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

bool OneShotWakeup::Woken() const {
  return state_.load(std::memory_order_acquire) == kWoken;
}

void YieldProcessor() { sched_yield(); }

}  // namespace platform
}  // namespace portsig
