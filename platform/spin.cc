#include "platform/spin.h"

#include <sched.h>

#include "absl/strings/str_cat.h"

namespace portsig {
namespace platform {
namespace spin_internal {

std::atomic<int64_t> budget_ns{0};

// sched_yield rather than a pause instruction: on a machine with as many
// busy threads as cores (a sender, the dispatcher and a receiver on two),
// the thread being waited for may need this very processor.
void Pause() { sched_yield(); }

}  // namespace spin_internal

absl::Status SetSpinBeforeSleep(absl::Duration budget) {
  if (budget < absl::ZeroDuration() || budget > kMaxSpinBeforeSleep) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spin_before_sleep ", absl::FormatDuration(budget), " is outside 0..",
        absl::FormatDuration(kMaxSpinBeforeSleep)));
  }
  spin_internal::budget_ns.store(absl::ToInt64Nanoseconds(budget),
                                 std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Duration SpinBeforeSleep() {
  return absl::Nanoseconds(
      spin_internal::budget_ns.load(std::memory_order_relaxed));
}

}  // namespace platform
}  // namespace portsig
