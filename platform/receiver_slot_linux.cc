// ReceiverSlot on Linux: a POSIX semaphore beside the state word. See
// receiver_slot.h.
//
// The state word says who may wake (only a Wake() that moves it from
// sleeping to woken posts), the semaphore carries the wake-up. A post
// whose sleeper had already stopped waiting (its deadline, a handler on its
// thread) stays in the semaphore; Announce() takes such leftovers, so a
// later sleep does not return early for them.
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <cerrno>

#include "absl/time/time.h"
#include "platform/fatal.h"
#include "platform/receiver_slot.h"
#include "platform/sanitizers.h"

namespace portsig {
namespace platform {

ReceiverSlot::ReceiverSlot() {
  if (sem_init(&semaphore_, /*pshared=*/0, 0) != 0) {
    Fatal("sem_init failed", 0, errno);
  }
}

ReceiverSlot::~ReceiverSlot() { sem_destroy(&semaphore_); }

void ReceiverSlot::Announce() {
  while (sem_trywait(&semaphore_) == 0) {
  }
  state_.store(kSleeping, std::memory_order_seq_cst);
}

void ReceiverSlot::Sleep(const Deadline& deadline) {
  if (state_.load(std::memory_order_seq_cst) != kSleeping) return;
  PORTSIG_RETHROW_CANCELLATION_BEGIN
  // EINTR (a handler ran here, perhaps the one that woke this thread) and
  // ETIMEDOUT end the sleep; the owner looks at the state and the time.
  int result;
#ifdef PORTSIG_TSAN
  // A pthread_cancel acting inside TSan's sem_wait interceptor unwinds past
  // the interceptor's bookkeeping (its runtime has no unwind cleanups), and
  // TSan then ignores this thread's later mutex operations: it reported a
  // race on a field the cancelled receiver reads under the channel's lock
  // (exit_test, AReceiverBlockedThereCanStillBeCancelled). Under TSan the
  // wait is made in slices with cancellation held off, and a pending
  // cancellation acts between them, in pthread_testcancel, outside any
  // interceptor. A slice ending is an early return, as EINTR is.
  int cancel_state;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  const struct timespec slice =
      deadline.EarlierOf(absl::Milliseconds(10)).ToMonotonicTimespec();
  result = sem_clockwait(&semaphore_, CLOCK_MONOTONIC, &slice);
  const int saved_errno = errno;
  pthread_setcancelstate(cancel_state, nullptr);
  if (cancel_state == PTHREAD_CANCEL_ENABLE) pthread_testcancel();
  errno = saved_errno;
#else
  if (deadline.infinite()) {
    result = sem_wait(&semaphore_);
  } else {
    // On CLOCK_MONOTONIC, as every portsig deadline: a wall-clock step
    // must not stretch the sleep.
    const struct timespec until = deadline.ToMonotonicTimespec();
    result = sem_clockwait(&semaphore_, CLOCK_MONOTONIC, &until);
  }
#endif
  if (result != 0 && errno != EINTR && errno != ETIMEDOUT) {
    Fatal("sem_wait failed", 0, errno);
  }
  PORTSIG_RETHROW_CANCELLATION_END
}

bool ReceiverSlot::Withdraw() {
  return state_.exchange(kAwake, std::memory_order_seq_cst) == kWoken;
}

bool ReceiverSlot::Sleeping() const {
  return state_.load(std::memory_order_seq_cst) == kSleeping;
}

bool ReceiverSlot::Wake() {
  uint32_t sleeping = kSleeping;
  if (!state_.compare_exchange_strong(sleeping, kWoken,
                                      std::memory_order_seq_cst)) {
    return false;
  }
  // Runs in the handler: errno is the interrupted code's. sem_post fails
  // only with EOVERFLOW, which one post per sleep cannot reach.
  const int saved_errno = errno;
  sem_post(&semaphore_);
  errno = saved_errno;
  return true;
}

void ReceiverSlot::ResetAfterFork() {
  state_.store(kAwake, std::memory_order_relaxed);
  // The copy may count a waiter of the parent's; a fresh one counts none.
  sem_init(&semaphore_, 0, 0);
}

}  // namespace platform
}  // namespace portsig
