// Escalation: when the relay SIGKILLs the command's group instead of
// forwarding an interrupt.
//
// - Grace: the same interrupt (SIGINT or SIGTERM) received twice within
//   `grace` sends SIGKILL instead of the second one. Different signals do
//   not escalate: a supervisor that sends SIGTERM and then SIGINT to a
//   command that is shutting down is not a user pressing Ctrl-C twice.
//   A repeat within kSameRequest of the first (or coalesced with it into
//   one delivery) is the same request sent twice, not a second one: GNU
//   `timeout` sends TERM to its command and then to its own process group,
//   so `timeout 10 sigwatch --relay -- CMD` gets TERM twice within
//   microseconds, and a CMD shutting down cleanly must not be SIGKILLed for
//   it (tini and dumb-init let it finish). A person or supervisor repeating
//   itself does so later than that. Grace zero never escalates. Other signals
//   (SIGHUP, SIGUSR1, ...) never escalate: sent twice they usually mean
//   "reload" twice.
// - Kill-after: once the first SIGINT or SIGTERM has been forwarded, the
//   group gets SIGKILL `kill_after` later if the command is still running
//   (as `timeout -k`). Zero, or so long that the clock would overflow
//   (infinite): never.
//
// Pure bookkeeping on times the caller gives it: nothing here sends a
// signal or reads a clock.
#ifndef PORTSIG_TOOLS_ESCALATION_H_
#define PORTSIG_TOOLS_ESCALATION_H_

#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace portsig {
namespace sigwatch {

class Escalation {
 public:
  using Clock = std::chrono::steady_clock;

  // Repeats closer than this to the first are one request (see above).
  static constexpr absl::Duration kSameRequest = absl::Milliseconds(100);

  Escalation(absl::Duration grace, absl::Duration kill_after);

  struct Decision {
    // Forward the signal itself (once; a coalesced repeat does not make it
    // twice).
    bool forward = false;
    // Then send SIGKILL to the group.
    bool kill = false;
    // Neither: a duplicate of the request just forwarded.
  };

  // What to do with `occurrences` (at least 1; coalesced occurrences are
  // one request) of `signo` received at `now`.
  Decision OnSignal(int signo, uint64_t occurrences, Clock::time_point now);

  // When kill-after falls due, if it is armed and has not fired.
  std::optional<Clock::time_point> kill_deadline() const {
    return kill_deadline_;
  }
  // Whether kill-after is due at `now`; disarms it when it is (it fires
  // once).
  bool KillAfterDue(Clock::time_point now);

 private:
  const absl::Duration grace_;
  const absl::Duration kill_after_;
  // When the first of the current request for each interrupt came.
  std::optional<Clock::time_point> first_int_;
  std::optional<Clock::time_point> first_term_;
  std::optional<Clock::time_point> kill_deadline_;
  bool kill_after_armed_once_ = false;
};

// SIGINT and SIGTERM.
bool IsInterrupt(int signo);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_ESCALATION_H_
