// An LD_PRELOAD experiment for BENCHMARKS.md, not part of any harness:
// turns off absl::Mutex deadlock detection at load time. Debian's Abseil is
// built without NDEBUG, so detection is on in every program that links it,
// portsig's harness included; preloading this shows what it costs:
//
//   LD_PRELOAD=bazel-bin/bench/libno_deadlock_detection.so
//       bench/results/bin/portsig_harness --mode=churn
//
// (one command line).
#include "absl/synchronization/mutex.h"

namespace {

__attribute__((constructor)) void TurnOffDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace
