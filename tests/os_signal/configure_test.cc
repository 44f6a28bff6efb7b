// portsig::Configure and the environment defaults (os_signal/options.h).
// Every test runs in a fresh child and sets its environment before its
// first portsig call, since the environment is read once per process. The
// target sets PORTSIG_SIGQUEUE to each backend in turn.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using ::portsig::testing::CurrentAction;
using ::portsig::testing::RunInChild;
using ::testing::AllOf;
using ::testing::HasSubstr;

SigQueue FromEnvironment() {
  return std::string(getenv("PORTSIG_SIGQUEUE")) == "note" ? SigQueue::kNote
                                                           : SigQueue::kPosix;
}
SigQueue Other(SigQueue q) {
  return q == SigQueue::kNote ? SigQueue::kPosix : SigQueue::kNote;
}
std::string Name(SigQueue q) { return q == SigQueue::kNote ? "note" : "posix"; }

TEST(ConfigureTest, TheEnvironmentGivesTheDefaults) {
  auto status = RunInChild([] {
    setenv("PORTSIG_SPIN_BEFORE_SLEEP", "50us", 1);
    setenv("PORTSIG_RESTORE_DELAY", "20ms", 1);
    Options now = CurrentOptions();
    EXPECT_EQ(now.sigqueue, FromEnvironment());
    EXPECT_EQ(now.spin_before_sleep, absl::Microseconds(50));
    EXPECT_EQ(now.restore_delay, absl::Milliseconds(20));
    absl::StatusOr<std::string> backend = Backend();
    ASSERT_TRUE(backend.ok()) << backend.status();
    EXPECT_EQ(*backend, Name(FromEnvironment()));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ConfigureTest, WithoutEnvironmentTheBuiltInDefaultsHold) {
  auto status = RunInChild([] {
    unsetenv("PORTSIG_SPIN_BEFORE_SLEEP");
    unsetenv("PORTSIG_RESTORE_DELAY");
    Options now = CurrentOptions();
    EXPECT_EQ(now.spin_before_sleep, absl::ZeroDuration());
    EXPECT_EQ(now.restore_delay, absl::Milliseconds(10));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A malformed variable is ignored (the library works on the built-in
// default) and reported by Backend() until Configure sets that field.
TEST(ConfigureTest, AMalformedEnvironmentIsReportedAndNeverDisablesTheLibrary) {
  auto status = RunInChild([] {
    setenv("PORTSIG_SPIN_BEFORE_SLEEP", "fast", 1);
    setenv("PORTSIG_RESTORE_DELAY", "5s", 1);
    Options now = CurrentOptions();
    EXPECT_EQ(now.spin_before_sleep, absl::ZeroDuration());
    EXPECT_EQ(now.restore_delay, absl::Milliseconds(10));
    absl::StatusOr<std::string> backend = Backend();
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(backend.status().message()),
                AllOf(HasSubstr("PORTSIG_SPIN_BEFORE_SLEEP=\"fast\""),
                      HasSubstr("PORTSIG_RESTORE_DELAY=\"5s\""),
                      HasSubstr("running on " + Name(FromEnvironment()))));

    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    Stop(ch);

    Options spin;
    spin.spin_before_sleep = absl::Microseconds(1);
    ASSERT_TRUE(Configure(spin).ok());
    backend = Backend();
    EXPECT_THAT(std::string(backend.status().message()),
                AllOf(::testing::Not(HasSubstr("PORTSIG_SPIN_BEFORE_SLEEP")),
                      HasSubstr("PORTSIG_RESTORE_DELAY")));
    Options delay;
    delay.restore_delay = absl::Milliseconds(3);
    ASSERT_TRUE(Configure(delay).ok());
    EXPECT_TRUE(Backend().ok()) << Backend().status();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ConfigureTest, OneBadFieldIsNamedAndNothingChanges) {
  auto status = RunInChild([] {
    unsetenv("PORTSIG_SPIN_BEFORE_SLEEP");
    unsetenv("PORTSIG_RESTORE_DELAY");
    Options bad;
    bad.sigqueue = Other(FromEnvironment());
    bad.spin_before_sleep = absl::Microseconds(5);
    bad.restore_delay = absl::Seconds(5);
    absl::Status s = Configure(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()),
                AllOf(HasSubstr("restore_delay"), HasSubstr("5s")));
    bad.restore_delay.reset();
    bad.spin_before_sleep = absl::Milliseconds(11);
    s = Configure(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()),
                AllOf(HasSubstr("spin_before_sleep"), HasSubstr("11ms")));
    bad.spin_before_sleep.reset();
    bad.sigqueue = static_cast<SigQueue>(7);
    s = Configure(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("sigqueue 7"));

    Options now = CurrentOptions();
    EXPECT_EQ(now.sigqueue, FromEnvironment());
    EXPECT_EQ(now.spin_before_sleep, absl::ZeroDuration());
    EXPECT_EQ(now.restore_delay, absl::Milliseconds(10));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The backend may be chosen until first use, and is then the one used;
// afterwards only a request for the same backend succeeds.
TEST(ConfigureTest, TheBackendIsFixedAtFirstUse) {
  auto status = RunInChild([] {
    const SigQueue other = Other(FromEnvironment());
    Options choose;
    choose.sigqueue = other;
    ASSERT_TRUE(Configure(choose).ok());
    EXPECT_EQ(*Backend(), Name(other));

    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch).ok());  // every signal and every note
    // Only the note backend carries text notes: the choice is in effect.
    absl::Status posted = PostNote("reload");
    if (other == SigQueue::kNote) {
      ASSERT_TRUE(posted.ok()) << posted;
      EXPECT_EQ(ch.Receive(), Signal::Note("reload"));
    } else {
      EXPECT_EQ(posted.code(), absl::StatusCode::kFailedPrecondition);
    }

    EXPECT_TRUE(Configure(choose).ok());
    Options back;
    back.sigqueue = FromEnvironment();
    back.spin_before_sleep = absl::Microseconds(7);
    absl::Status s = Configure(back);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(s.message()), HasSubstr("runs on " + Name(other)));
    EXPECT_EQ(CurrentOptions().sigqueue, other);
    EXPECT_NE(CurrentOptions().spin_before_sleep, absl::Microseconds(7));
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The restore delay may change while portsig runs: zero restores inside
// the next Stop.
TEST(ConfigureTest, TheRestoreDelayChangesWhileRunning) {
  auto status = RunInChild([] {
    unsetenv("PORTSIG_RESTORE_DELAY");
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    Options now;
    now.restore_delay = absl::ZeroDuration();
    ASSERT_TRUE(Configure(now).ok());
    Stop(ch);
    EXPECT_EQ(CurrentAction(SIGUSR1).sa_handler, SIG_DFL);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
