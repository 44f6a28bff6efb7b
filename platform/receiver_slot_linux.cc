// ReceiverSlot's wake-up on Linux: futex(2) on the state word itself
// (platform::Parker). See receiver_slot.h.
//
// On the word, rather than on a semaphore beside it, because the kernel
// usually runs the handler on the receiving thread itself (a main thread
// blocked in Receive is the first thread Linux tries). That handler moves
// the word from sleeping to woken, and the owner's wait then ends with no
// wake-up carried: a wait not yet begun finds the word changed (the kernel
// compares it before sleeping), and a wait interrupted by the handler
// returns EINTR (every wait here is timed; an untimed one, restarted
// after the handler by SA_RESTART, would compare the word again). A
// semaphore's count does not change with the word, so each such signal
// cost a sem_post, one more system call on the handler's path.
#include <pthread.h>
#include <time.h>

#include "absl/time/time.h"
#include "platform/receiver_slot.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

ReceiverSlot::ReceiverSlot() = default;

ReceiverSlot::~ReceiverSlot() = default;

// A futex wake finds no waiter once the wait has ended: nothing lingers.
void ReceiverSlot::ClearCarriedWakes() {}

PORTSIG_UNPOISONED_FRAME void ReceiverSlot::WaitForWake(
    const Deadline& deadline) {
  // Timed even without a deadline: a handler on this thread ends a timed
  // futex wait with EINTR, while the kernel restarts an untimed one
  // (SA_RESTART) only for it to find the word changed, one more system
  // call on every signal the kernel hands the sleeping receiver itself.
  // The hour's end is an early return, which the owner allows for.
  const absl::Duration left = deadline.EarlierOf(absl::Hours(1)).Remaining();
  if (left <= absl::ZeroDuration()) return;
  const struct timespec relative = absl::ToTimespec(left);
  // A raw futex wait is no cancellation point. glibc makes its own waits
  // one (sem_wait, pthread_cond_wait) by switching the thread to
  // asynchronous cancellation for the length of the system call; so does
  // this, with nothing but the wait inside the window. The wait has no
  // effect a cancellation could cut in half: the owner's leaving, which
  // the unwinding runs, withdraws and delivers what a waker handed it.
  int type;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
  parker_.Wait(&state_, kSleeping, &relative);
  pthread_setcanceltype(type, nullptr);
}

void ReceiverSlot::CarryWake() {
  PORTSIG_TEST_HOOK(receiver_wake_carried, 0);
  parker_.Wake(&state_);
}

// The owner is interrupted on this thread, so it is not inside its wait:
// the changed word ends or forestalls it (see the top of this file).
void ReceiverSlot::CarryOwnWake() {}

void ReceiverSlot::ResetAfterFork() {
  state_.store(kAwake, std::memory_order_relaxed);
}

}  // namespace platform
}  // namespace portsig
