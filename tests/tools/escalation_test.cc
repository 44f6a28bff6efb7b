// Unit tests of tools/escalation.h: which interrupts SIGKILL the command's
// group (--grace) and when --kill-after falls due, on a made-up clock.
#include "tools/escalation.h"

#include <signal.h>

#include <chrono>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace portsig {
namespace sigwatch {
namespace {

using Clock = Escalation::Clock;

Clock::time_point At(int millis) {
  return Clock::time_point(std::chrono::milliseconds(millis));
}

bool Forwards(Escalation::Decision d) { return d.forward && !d.kill; }
bool Kills(Escalation::Decision d) { return d.kill && !d.forward; }

TEST(EscalationTest, SameInterruptTwiceWithinGraceKills) {
  for (int signo : {SIGINT, SIGTERM}) {
    Escalation escalation(absl::Seconds(5), absl::ZeroDuration());
    EXPECT_TRUE(Forwards(escalation.OnSignal(signo, 1, At(0))));
    EXPECT_TRUE(Kills(escalation.OnSignal(signo, 1, At(4999))));
  }
}

TEST(EscalationTest, DifferentInterruptsDoNotEscalate) {
  Escalation escalation(absl::Seconds(5), absl::ZeroDuration());
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGTERM, 1, At(0))));
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGINT, 1, At(1))));
  // A second TERM within grace of the first still escalates.
  EXPECT_TRUE(Kills(escalation.OnSignal(SIGTERM, 1, At(2000))));
}

TEST(EscalationTest, RepeatAfterGraceForwards) {
  Escalation escalation(absl::Seconds(5), absl::ZeroDuration());
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGTERM, 1, At(0))));
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGTERM, 1, At(5000))));
  // Measured from the previous one, not the first.
  EXPECT_TRUE(Kills(escalation.OnSignal(SIGTERM, 1, At(9000))));
}

TEST(EscalationTest, ZeroGraceNeverKills) {
  Escalation escalation(absl::ZeroDuration(), absl::ZeroDuration());
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGINT, 1, At(0))));
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGINT, 1, At(0))));
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGINT, 3, At(0))));
}

TEST(EscalationTest, CoalescedRepeatIsOneRequest) {
  Escalation escalation(absl::Seconds(5), absl::ZeroDuration());
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGINT, 2, At(0))));
  // Still counts as a first: a later repeat escalates.
  EXPECT_TRUE(Kills(escalation.OnSignal(SIGINT, 1, At(1000))));
}

// GNU timeout sends TERM to its command, then to its own process group:
// sigwatch under `timeout` gets TERM twice within microseconds.
TEST(EscalationTest, RepeatWithinSameRequestWindowIsNeitherForwardedNorKills) {
  Escalation escalation(absl::Seconds(5), absl::ZeroDuration());
  const int64_t window = absl::ToInt64Milliseconds(Escalation::kSameRequest);
  for (int signo : {SIGTERM, SIGINT}) {
    EXPECT_TRUE(Forwards(escalation.OnSignal(signo, 1, At(0))));
    Escalation::Decision d = escalation.OnSignal(signo, 1, At(window - 1));
    EXPECT_FALSE(d.forward);
    EXPECT_FALSE(d.kill);
    EXPECT_TRUE(Kills(escalation.OnSignal(signo, 1, At(window))));
  }
}

TEST(EscalationTest, OtherSignalsNeverEscalate) {
  Escalation escalation(absl::Seconds(5), absl::Seconds(1));
  for (int signo : {SIGHUP, SIGUSR1, SIGQUIT, SIGALRM}) {
    EXPECT_TRUE(Forwards(escalation.OnSignal(signo, 1, At(0))));
    EXPECT_TRUE(Forwards(escalation.OnSignal(signo, 5, At(1))));
  }
  EXPECT_FALSE(escalation.kill_deadline().has_value());
}

TEST(EscalationTest, KillAfterArmsAtTheFirstForwardedInterruptAndFiresOnce) {
  Escalation escalation(absl::Seconds(5), absl::Seconds(2));
  EXPECT_FALSE(escalation.kill_deadline().has_value());
  EXPECT_FALSE(escalation.KillAfterDue(At(100000)));
  escalation.OnSignal(SIGTERM, 1, At(1000));
  ASSERT_TRUE(escalation.kill_deadline().has_value());
  EXPECT_EQ(*escalation.kill_deadline(), At(3000));
  // A later interrupt does not move it.
  escalation.OnSignal(SIGINT, 1, At(2000));
  EXPECT_EQ(*escalation.kill_deadline(), At(3000));
  EXPECT_FALSE(escalation.KillAfterDue(At(2999)));
  EXPECT_TRUE(escalation.KillAfterDue(At(3000)));
  EXPECT_FALSE(escalation.KillAfterDue(At(4000)));
  EXPECT_FALSE(escalation.kill_deadline().has_value());
  // Nor does it arm again.
  escalation.OnSignal(SIGTERM, 1, At(10000));
  EXPECT_FALSE(escalation.kill_deadline().has_value());
}

TEST(EscalationTest, ZeroKillAfterNeverArms) {
  Escalation escalation(absl::Seconds(5), absl::ZeroDuration());
  escalation.OnSignal(SIGTERM, 1, At(0));
  EXPECT_FALSE(escalation.kill_deadline().has_value());
}

// --kill-after=inf, or centuries: never due. Before, now + the duration
// overflowed the clock and wrapped into the past: SIGKILL at once.
TEST(EscalationTest, KillAfterBeyondTheClocksEndNeverFalls) {
  for (absl::Duration after :
       {absl::InfiniteDuration(), absl::Hours(100000000000),
        absl::Hours(24 * 365 * 293)}) {
    Escalation escalation(absl::Seconds(5), after);
    const Clock::time_point now = Clock::now();
    EXPECT_TRUE(Forwards(escalation.OnSignal(SIGTERM, 1, now)));
    EXPECT_FALSE(escalation.KillAfterDue(now)) << after;
    EXPECT_FALSE(escalation.KillAfterDue(now + std::chrono::hours(1))) << after;
    EXPECT_FALSE(escalation.kill_deadline().has_value()) << after;
  }
  // Long but within the clock: armed, and due once reached.
  Escalation escalation(absl::Seconds(5), absl::Hours(24 * 365));
  EXPECT_TRUE(Forwards(escalation.OnSignal(SIGTERM, 1, At(0))));
  EXPECT_FALSE(escalation.KillAfterDue(At(1)));
  EXPECT_TRUE(escalation.KillAfterDue(At(0) + std::chrono::hours(24 * 365)));
}

}  // namespace
}  // namespace sigwatch
}  // namespace portsig
