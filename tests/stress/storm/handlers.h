// What runs inside signal handlers during a storm: the "host program's"
// own handlers, a counter of portsig's handler entries (test hook), and the
// fault hooks of --faults. They touch only the atomics of HandlerCounts.
#ifndef PORTSIG_TESTS_STRESS_STORM_HANDLERS_H_
#define PORTSIG_TESTS_STRESS_STORM_HANDLERS_H_

#include <atomic>
#include <cstdint>

#include "platform/sync.h"  // PORTSIG_TSAN
#include "tests/stress/storm/kinds.h"

namespace portsig {
namespace storm {

#ifdef PORTSIG_TSAN
// TSan may defer a raised signal (when the thread is inside one of its
// interceptors) and, now and then, never hand it to portsig's handler at
// all (its trampoline consults its own table; see atomic_stop_test.cc).
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif

struct HandlerCounts {
  // Per signal: host handler runs, portsig handler entries, and sends that
  // read `wanted` as set (committed to queue it; --faults only).
  std::atomic<int64_t> host_calls[kMaxSignal + 1];
  std::atomic<int64_t> portsig_entries[kMaxSignal + 1];
  std::atomic<int64_t> committed[kMaxSignal + 1];
  // How often each fault hook injected its fault.
  std::atomic<int64_t> fault_sender_delays{0};
  std::atomic<int64_t> fault_fanout_pauses{0};
  std::atomic<int64_t> fault_stop_holds{0};
  // Raised signals TSan never handed to portsig's handler.
  std::atomic<int64_t> tsan_undelivered{0};
};
HandlerCounts& Counts();

// Gives the stable, churn, AtomicStop and fork kinds the host dispositions
// the storm starts from (handlers with assorted flags and masks, SIG_IGN
// as if inherited, SIG_DFL).
void InstallHostDispositions();

// Counts portsig's handler entries (handler_entered).
void CountPortsigEntries();
// The fault hooks: delay a third of the senders between their `wanted`
// check and their hand-off, pause the dispatcher before a quarter of the
// fan-outs, hold half of the Stops between their phases.
void InstallFaultHooks();
void RemoveFaultHooks();

// Raises a signal that portsig's handler takes, and returns whether the
// handler ran. raise() runs it before returning; under TSan this waits for
// it (usleep() is an interceptor that runs deferred handlers), up to a
// second, then counts the signal as never delivered by TSan.
bool RaiseToPortsig(int signo);

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_HANDLERS_H_
