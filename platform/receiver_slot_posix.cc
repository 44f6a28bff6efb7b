// ReceiverSlot's wake-up on any POSIX system: platform::Parker on the state
// word (a self-pipe; poll(2) is a cancellation point). See receiver_slot.h.
#include <time.h>

#include "absl/time/time.h"
#include "platform/receiver_slot.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {

ReceiverSlot::ReceiverSlot() = default;

ReceiverSlot::~ReceiverSlot() = default;

// The parker drains its pipe after every wait: nothing is carried over.
void ReceiverSlot::ClearCarriedWakes() {}

PORTSIG_UNPOISONED_FRAME void ReceiverSlot::WaitForWake(
    const Deadline& deadline) {
  if (deadline.infinite()) {
    parker_.Wait(&state_, kSleeping);
  } else if (const absl::Duration left = deadline.Remaining();
             left > absl::ZeroDuration()) {
    const struct timespec relative = absl::ToTimespec(left);
    parker_.Wait(&state_, kSleeping, &relative);
  }
}

void ReceiverSlot::CarryWake() {
  PORTSIG_TEST_HOOK(receiver_wake_carried, 0);
  parker_.Wake(&state_);
}

// The owner may have looked at the word and not yet reached poll(2): only
// the byte in the pipe ends that poll.
void ReceiverSlot::CarryOwnWake() { CarryWake(); }

void ReceiverSlot::ResetAfterFork() {
  // The parker makes its own pipe in the child at its first Wait.
  state_.store(kAwake, std::memory_order_relaxed);
}

}  // namespace platform
}  // namespace portsig
