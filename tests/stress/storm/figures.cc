#include "tests/stress/storm/figures.h"

#include "absl/strings/str_cat.h"

namespace portsig {
namespace storm {

int64_t Figures::TotalSent() const {
  return sent + child_sent + child_group_sent;
}

int64_t Figures::TotalLost() const {
  return final_lost + accounting_lost + atomic_lost + atomic_after_stop +
         probe_lost;
}

std::string Figures::ReliabilityLine(absl::string_view harness,
                                     absl::string_view backend) const {
  auto n = [](const std::atomic<int64_t>& v) { return v.load(); };
  return absl::StrCat(
      "RELIABILITY harness=", harness, " backend=", backend,
      " duration=", absl::FormatDuration(stormed), " sent=", TotalSent(),
      " deliveries=", deliveries, " drops=", drops, " lost=", TotalLost(),
      " hangs=", n(fork_hung), " [send_errors=", n(send_errors) + child_errors,
      " tgkill_dispatcher=", n(tgkill_dispatcher), " child_sent=", child_sent,
      " group_sent=", child_group_sent,
      " handler_entries_stable=", handler_entries_stable,
      " fanouts_stable=", fanouts_stable, " queue_overflows=", queue_overflows,
      " api_calls=", n(api_calls), " final_lost=", final_lost,
      " accounting_lost=", accounting_lost,
      " atomic_stop=", n(atomic_iterations), "/", n(atomic_received), "/",
      n(atomic_fell_through), "/", n(atomic_overflowed), "/", n(atomic_lost),
      "/", n(atomic_after_stop),
      " (iterations/received/fell_through/overflowed/lost/after_stop)",
      " probes=", n(probes), "/", n(probe_overflowed), "/", n(probe_lost),
      " (sent/overflowed/lost) fault_delays=", fault_sender_delays, "/",
      fault_fanout_pauses, "/", fault_stop_holds,
      " (sender/fanout/stop) forks=", n(fork_ok), "/", n(fork_failed), "/",
      n(fork_hung), " (ok/failed/hung) restored_wrong=", restored_wrong,
      " tsan_undelivered=", tsan_undelivered, "]");
}

}  // namespace storm
}  // namespace portsig
