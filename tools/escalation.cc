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
  std::optional<Clock::time_point>& first =
      signo == SIGINT ? first_int_ : first_term_;
  const auto since_first = [&] { return now - *first; };
  // Occurrences coalesced into this delivery were sent together: one
  // request, whatever their count.
  (void)occurrences;
  if (grace_ > absl::ZeroDuration() && first.has_value() &&
      since_first() < absl::ToChronoNanoseconds(grace_)) {
    if (since_first() < absl::ToChronoNanoseconds(kSameRequest)) {
      // The same request again: already forwarded.
      return decision;
    }
    decision.kill = true;
  } else {
    decision.forward = true;
    first = now;
  }
  if (decision.forward && kill_after_ > absl::ZeroDuration() &&
      !kill_after_armed_once_) {
    kill_after_armed_once_ = true;
    // A deadline past the clock's end (--kill-after=inf, or centuries) is
    // never: the sum would overflow, wrap into the past and SIGKILL the
    // command at once.
    const std::chrono::nanoseconds after =
        absl::ToChronoNanoseconds(kill_after_);
    if (after < Clock::time_point::max() - now) kill_deadline_ = now + after;
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
