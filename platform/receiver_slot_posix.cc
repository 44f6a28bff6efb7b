// ReceiverSlot on any POSIX system: platform::Parker on the state word (a
// self-pipe; poll(2) is a cancellation point). See receiver_slot.h.
#include <time.h>

#include <cerrno>

#include "platform/receiver_slot.h"

namespace portsig {
namespace platform {

ReceiverSlot::ReceiverSlot() = default;

ReceiverSlot::~ReceiverSlot() = default;

void ReceiverSlot::Announce() {
  state_.store(kSleeping, std::memory_order_seq_cst);
}

void ReceiverSlot::Sleep(const Deadline& deadline) {
  PORTSIG_RETHROW_CANCELLATION_BEGIN
  if (deadline.infinite()) {
    parker_.Wait(&state_, kSleeping);
  } else if (const absl::Duration left =
                 absl::DurationFromTimespec(deadline.ToMonotonicTimespec()) -
                 Deadline::MonotonicNow();
             left > absl::ZeroDuration()) {
    const struct timespec relative = absl::ToTimespec(left);
    parker_.Wait(&state_, kSleeping, &relative);
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
  // Runs in the handler: errno is the interrupted code's.
  const int saved_errno = errno;
  parker_.Wake(&state_);
  errno = saved_errno;
  return true;
}

void ReceiverSlot::ResetAfterFork() {
  // The parker makes its own pipe in the child at its first Wait.
  state_.store(kAwake, std::memory_order_relaxed);
}

}  // namespace platform
}  // namespace portsig
