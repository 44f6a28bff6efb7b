// ReceiverSlot's state word, the same on every layer; how a wake-up is
// carried (a futex wake, a self-pipe) is receiver_slot_linux.cc's or
// receiver_slot_posix.cc's. See receiver_slot.h.
//
// The state word says who may wake: only a Wake() that moves it from
// sleeping to woken carries a wake-up, so of racing wakers exactly one
// wins, and a carried wake-up whose sleeper had already stopped waiting
// (its deadline, a handler on its thread) is cleared by the next
// Announce() where one can linger (the self-pipe).
#include "platform/receiver_slot.h"

#include <pthread.h>

#include <cerrno>

#include "absl/time/time.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

void ReceiverSlot::Announce() {
  ClearCarriedWakes();
  state_.store(kSleeping, std::memory_order_seq_cst);
}

void ReceiverSlot::Sleep(const Deadline& deadline) {
  if (state_.load(std::memory_order_seq_cst) != kSleeping) return;
  PORTSIG_TEST_HOOK(receiver_slot_looked, 0);
  PORTSIG_RETHROW_CANCELLATION_BEGIN
#ifdef PORTSIG_TSAN
  // A pthread_cancel acting inside a TSan interceptor of a blocking call
  // (poll; sem_wait, which the Linux slot once waited in) unwinds past the
  // interceptor's bookkeeping (TSan's runtime has no unwind cleanups), and
  // TSan then ignores this thread's later mutex operations: it reported a
  // race on a field the cancelled receiver reads under the channel's lock
  // (exit_test, AReceiverBlockedThereCanStillBeCancelled). Under TSan the
  // wait is made in slices with cancellation held off, and a pending
  // cancellation acts between them, in pthread_testcancel, outside any
  // interceptor. A slice ending is an early return, which the owner allows
  // for.
  int cancel_state;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  WaitForWake(deadline.EarlierOf(absl::Milliseconds(10)));
  pthread_setcancelstate(cancel_state, nullptr);
  if (cancel_state == PTHREAD_CANCEL_ENABLE) pthread_testcancel();
#else
  WaitForWake(deadline);
#endif
  PORTSIG_RETHROW_CANCELLATION_END
}

bool ReceiverSlot::Withdraw() {
  return state_.exchange(kAwake, std::memory_order_seq_cst) == kWoken;
}

bool ReceiverSlot::Wake() { return WakeCarrying(&ReceiverSlot::CarryWake); }

bool ReceiverSlot::WakeOwn() {
  return WakeCarrying(&ReceiverSlot::CarryOwnWake);
}

bool ReceiverSlot::WakeCarrying(void (ReceiverSlot::*carry)()) {
  uint32_t sleeping = kSleeping;
  if (!state_.compare_exchange_strong(sleeping, kWoken,
                                      std::memory_order_seq_cst)) {
    return false;
  }
  // Runs in the handler: errno is the interrupted code's.
  const int saved_errno = errno;
  (this->*carry)();
  errno = saved_errno;
  return true;
}

}  // namespace platform
}  // namespace portsig
