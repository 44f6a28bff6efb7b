// What one storm run does: its mode, sizes and seed, read from the flags
// once (storm_main.cc) and handed to every actor and check.
#ifndef PORTSIG_TESTS_STRESS_STORM_CONFIG_H_
#define PORTSIG_TESTS_STRESS_STORM_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "tests/stress/storm/kinds.h"

namespace portsig {
namespace storm {

struct Config {
  absl::Duration duration = absl::Seconds(5);
  // Fault-injection hooks on, AtomicStop threads instead of probes.
  bool faults = false;
  // A thread forks children throughout the storm.
  bool forks = false;
  // False in fork mode (unless asked otherwise): no thread holds a
  // registered channel's or context's lock while another forks. A child
  // forked while one is held deadlocks when its dispatcher delivers into
  // that channel (RELIABILITY.md, "Bugs the harnesses found").
  bool receivers = true;
  int churn_threads = 3;
  int channels_per_churner = 12;
  int flood_threads = 2;
  uint64_t seed = 1;
  // Signals each sender sends between 50 us pauses.
  int burst = 8;
  Kinds kinds = Kinds::Choose(false);
  // PORTSIG_SIGQUEUE as the storm found it ("default" if unset).
  std::string backend = "default";

  // Notify() with no list also takes the AtomicStop signals, so only
  // without them.
  bool notify_all() const { return !faults; }
  // The harness name of the RELIABILITY line.
  const char* harness() const {
    return faults ? "fault_storm" : forks ? "fork_storm" : "storm";
  }
};

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_CONFIG_H_
