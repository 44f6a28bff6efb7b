#include "os_signal/queue_requests.h"

#include <signal.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/runtime.h"

namespace portsig {
namespace os_signal_internal {

absl::Status ValidateQueueCapacity(absl::Span<const Signal> signals,
                                   uint32_t capacity) {
  if (capacity == 0) return absl::OkStatus();
  if (capacity > runtime::kMaxQueueCapacity) {
    return absl::InvalidArgumentError(absl::StrCat("queue_capacity ", capacity,
                                                   " is above the limit of ",
                                                   runtime::kMaxQueueCapacity));
  }
  if (signals.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue_capacity ", capacity,
                     " needs an explicit list of real-time signals"));
  }
  for (const Signal& signal : signals) {
    if (signal.is_note() || signal.number() < SIGRTMIN ||
        signal.number() > SIGRTMAX) {
      return absl::InvalidArgumentError(
          absl::StrCat("queue_capacity applies only to real-time signals "
                       "(SIGRTMIN..SIGRTMAX), not ",
                       signal.ToString()));
    }
  }
  return absl::OkStatus();
}

uint32_t QueueRequests::Find(Subscriber* subscriber, int signo) const {
  const auto& requests = requests_[signo];
  const auto request = requests.find(subscriber);
  return request == requests.end() ? 0 : request->second;
}

void QueueRequests::Set(Subscriber* subscriber, int signo, uint32_t capacity) {
  auto& requests = requests_[signo];
  if (capacity == 0) {
    if (requests.empty() || requests.erase(subscriber) == 0) return;
  } else {
    requests[subscriber] = capacity;
  }
  uint32_t largest = 0;
  for (const auto& [unused, c] : requests) largest = std::max(largest, c);
  runtime::SetQueueCapacity(signo, largest);
}

}  // namespace os_signal_internal
}  // namespace portsig
