// The figures of one storm: counted by the actors while it runs, completed
// by the checks after it, and printed as the one "RELIABILITY ..." line that
// RELIABILITY.md quotes.
#ifndef PORTSIG_TESTS_STRESS_STORM_FIGURES_H_
#define PORTSIG_TESTS_STRESS_STORM_FIGURES_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace portsig {
namespace storm {

struct Figures {
  // Counted by the actors during the storm.
  std::atomic<int64_t> sent{0};         // kill/tgkill/raise that succeeded
  std::atomic<int64_t> send_errors{0};  // EAGAIN (RT queue full), ESRCH
  std::atomic<int64_t> tgkill_dispatcher{0};  // aimed at a thread not ours
  std::atomic<int64_t> api_calls{0};
  std::atomic<int64_t> api_unexpected{0};   // a status other than expected
  std::atomic<int64_t> churn_delivered{0};  // of churn channels destroyed
  std::atomic<int64_t> churn_dropped{0};
  std::atomic<int64_t> atomic_iterations{0};
  std::atomic<int64_t> atomic_received{0};
  std::atomic<int64_t> atomic_fell_through{0};
  std::atomic<int64_t> atomic_lost{0};
  std::atomic<int64_t> atomic_overflowed{0};
  std::atomic<int64_t> probes{0};
  std::atomic<int64_t> probe_lost{0};
  std::atomic<int64_t> probe_overflowed{0};
  std::atomic<int64_t> atomic_after_stop{0};
  std::atomic<int64_t> forks{0};
  std::atomic<int64_t> fork_ok{0};
  std::atomic<int64_t> fork_failed{0};
  std::atomic<int64_t> fork_hung{0};

  // Filled in after the storm, by one thread.
  absl::Duration stormed;  // from the first flood to the last thread joined
  int64_t child_sent = 0;  // by the flooder child, at the storm process
  int64_t child_group_sent = 0;  // ... and at its process group
  int64_t child_errors = 0;
  int64_t deliveries = 0;  // delivered() over every channel, at rest
  int64_t drops = 0;       // dropped() over every channel, at rest
  int64_t final_lost = 0;
  int64_t accounting_lost = 0;
  int64_t handler_entries_stable = 0;
  int64_t fanouts_stable = 0;
  uint64_t queue_overflows = 0;
  int64_t restored_wrong = 0;
  int64_t fault_sender_delays = 0;
  int64_t fault_fanout_pauses = 0;
  int64_t fault_stop_holds = 0;
  int64_t tsan_undelivered = 0;

  // Signals sent by anyone, and signals lost by any measure.
  int64_t TotalSent() const;
  int64_t TotalLost() const;

  // "RELIABILITY harness=... backend=... duration=... sent=... [...]".
  std::string ReliabilityLine(absl::string_view harness,
                              absl::string_view backend) const;
};

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_FIGURES_H_
