// Internal: queue mode's requests (NotifyOptions::queue_capacity). Each
// subscriber may ask for a queue of some capacity per real-time signal; the
// runtime queues each signal with the largest capacity anyone still asks
// for, and stops queueing it when the last request goes.
//
// Not thread-safe by itself: the handler map guards it with its lock.
#ifndef PORTSIG_OS_SIGNAL_QUEUE_REQUESTS_H_
#define PORTSIG_OS_SIGNAL_QUEUE_REQUESTS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "os_signal/signal_value.h"
#include "os_signal/subscriber.h"
#include "os_signal/table.h"
#include "platform/signal_names.h"

namespace portsig {
namespace os_signal_internal {

// OK if `capacity` is 0 (no queue mode), or within the queue's limit with
// `signals` an explicit list of real-time signals; otherwise an error
// naming the bad value.
absl::Status ValidateQueueCapacity(absl::Span<const Signal> signals,
                                   uint32_t capacity);

class QueueRequests {
 public:
  // Whether nobody asks for queue mode on signo (the usual case, which
  // costs the handler map no lookup).
  bool none(int signo) const { return requests_[signo].empty(); }
  // `subscriber`'s request for signo; 0 if it has none.
  uint32_t Find(Subscriber* subscriber, int signo) const;
  // Records (capacity > 0) or withdraws (0) `subscriber`'s request for
  // signo, and gives the runtime the largest one left.
  void Set(Subscriber* subscriber, int signo, uint32_t capacity);

 private:
  // Per signal: the capacity each subscriber asked for.
  HashMap<Subscriber*, uint32_t> requests_[platform::kMaxSignal + 1];
};

}  // namespace os_signal_internal
}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_QUEUE_REQUESTS_H_
