#include "tools/escalation.h"

#include <signal.h>

namespace portsig {
namespace sigwatch {

bool IsInterrupt(int signo) { return signo == SIGINT || signo == SIGTERM; }

Escalation::Escalation(absl::Duration grace, absl::Duration kill_after)
    : grace_(grace), kill_after_(kill_after) {}

Escalation::Decision Escalation::OnSignal(int signo, uint64_t occurrences,
                                          Clock::time_point now) {
  Decision decision;
  if (!IsInterrupt(signo)) {
    decision.forward = true;
    return decision;
  }
  std::optional<Clock::time_point>& last =
      signo == SIGINT ? last_int_ : last_term_;
  const bool repeat_within_grace =
      grace_ > absl::ZeroDuration() && last.has_value() &&
      now - *last < absl::ToChronoNanoseconds(grace_);
  if (repeat_within_grace) {
    decision.kill = true;
  } else {
    decision.forward = true;
    // A second occurrence in the same delivery came within grace of the
    // first, whatever the clock says now.
    decision.kill = grace_ > absl::ZeroDuration() && occurrences >= 2;
  }
  last = now;
  if (decision.forward && kill_after_ > absl::ZeroDuration() &&
      !kill_after_armed_once_) {
    kill_after_armed_once_ = true;
    kill_deadline_ = now + absl::ToChronoNanoseconds(kill_after_);
  }
  return decision;
}

bool Escalation::KillAfterDue(Clock::time_point now) {
  if (!kill_deadline_ || now < *kill_deadline_) return false;
  kill_deadline_.reset();
  return true;
}

}  // namespace sigwatch
}  // namespace portsig
