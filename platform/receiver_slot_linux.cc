// ReceiverSlot's wake-up on Linux: a POSIX semaphore beside the state word
// (receiver_slot.cc). See receiver_slot.h.
#include <semaphore.h>
#include <time.h>

#include <cerrno>

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

void ReceiverSlot::ClearCarriedWakes() {
  while (sem_trywait(&semaphore_) == 0) {
  }
}

PORTSIG_UNPOISONED_FRAME void ReceiverSlot::WaitForWake(
    const Deadline& deadline) {
  // EINTR (a handler ran here, perhaps the one that woke this thread) and
  // ETIMEDOUT end the sleep; the owner looks at the state and the time.
  int result;
  if (deadline.infinite()) {
    result = sem_wait(&semaphore_);
  } else {
    // On CLOCK_MONOTONIC, as every portsig deadline: a wall-clock step
    // must not stretch the sleep.
    const struct timespec until = deadline.ToMonotonicTimespec();
    result = sem_clockwait(&semaphore_, CLOCK_MONOTONIC, &until);
  }
  if (result != 0 && errno != EINTR && errno != ETIMEDOUT) {
    Fatal("sem_wait failed", 0, errno);
  }
}

void ReceiverSlot::CarryWake() {
  // sem_post fails only with EOVERFLOW, which one post per sleep cannot
  // reach.
  sem_post(&semaphore_);
}

void ReceiverSlot::ResetAfterFork() {
  state_.store(kAwake, std::memory_order_relaxed);
  // The copy may count a waiter of the parent's; a fresh one counts none.
  sem_init(&semaphore_, 0, 0);
}

}  // namespace platform
}  // namespace portsig
