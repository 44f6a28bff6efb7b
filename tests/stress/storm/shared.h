// What the storm process shares with the test runner (its watchdog) and
// the flooder child: one MAP_SHARED page, so only lock-free atomics.
#ifndef PORTSIG_TESTS_STRESS_STORM_SHARED_H_
#define PORTSIG_TESTS_STRESS_STORM_SHARED_H_

#include <atomic>
#include <cstdint>

namespace portsig {
namespace storm {

// Where the storm process is; the watchdog names it when it kills a hang.
enum Phase : int {
  kNotStarted,
  kSetup,
  kStorm,
  kJoiningThreads,
  kFinalSignals,
  kCheckingCounters,
  kResetAndCompare,
  kDone,
};
const char* PhaseName(int phase);

struct Shared {
  std::atomic<int> phase{kNotStarted};
  // The flooder child waits for flood_go and sends until flood_stop.
  std::atomic<bool> flood_go{false};
  std::atomic<bool> flood_stop{false};
  std::atomic<int64_t> child_sent{0};
  std::atomic<int64_t> child_group_sent{0};
  std::atomic<int64_t> child_errors{0};
};

// A zeroed Shared in memory that survives fork() shared; null on failure.
Shared* NewShared();

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_SHARED_H_
