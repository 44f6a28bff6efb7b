// Unit tests of tools/job_control: what relay mode does when its command
// stops, and how it tells whether a job-control shell is above it.
#include "tools/job_control.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace portsig {
namespace sigwatch {
namespace {

TEST(JobControlTest, StopRequestsAreTheTerminalStops) {
  EXPECT_TRUE(IsStopRequest(SIGTSTP));
  EXPECT_TRUE(IsStopRequest(SIGTTIN));
  EXPECT_TRUE(IsStopRequest(SIGTTOU));
  EXPECT_FALSE(IsStopRequest(SIGSTOP));
  EXPECT_FALSE(IsStopRequest(SIGCONT));
  EXPECT_FALSE(IsStopRequest(SIGTERM));
}

TEST(JobControlTest, ARequestedStopNeedsNothingMore) {
  for (int signo : {SIGTSTP, SIGTTIN, SIGSTOP}) {
    EXPECT_EQ(ReactToStop(signo, true, true), StopReaction::kNone);
    EXPECT_EQ(ReactToStop(signo, true, false), StopReaction::kNone);
  }
}

TEST(JobControlTest, UnderJobControlTheRelayStopsWithItsCommand) {
  for (int signo : {SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP}) {
    EXPECT_EQ(ReactToStop(signo, false, true), StopReaction::kStopOwnGroup);
  }
}

TEST(JobControlTest, WithNoJobControlCtrlZIsUndoneAndOtherStopsReported) {
  EXPECT_EQ(ReactToStop(SIGTSTP, false, false), StopReaction::kResume);
  // Resuming a command stopped for using the terminal from the background
  // would only stop it again.
  EXPECT_EQ(ReactToStop(SIGTTIN, false, false), StopReaction::kWarn);
  EXPECT_EQ(ReactToStop(SIGTTOU, false, false), StopReaction::kWarn);
  EXPECT_EQ(ReactToStop(SIGSTOP, false, false), StopReaction::kWarn);
}

// Runs UnderJobControl in a grandchild of this test whose parent leads a
// new session, in a group of its own (`own_group`) or in its parent's;
// returns 1 (true), 0 (false) or more (the layout failed), or -1.
int UnderJobControlIn(bool own_group) {
  pid_t leader = fork();
  if (leader == 0) {
    if (setsid() < 0) _exit(2);
    pid_t job = fork();
    if (job == 0) {
      // A shell's job: a group of its own in the shell's session.
      if (own_group && setpgid(0, 0) != 0) _exit(2);
      _exit(UnderJobControl() ? 1 : 0);
    }
    int status = 0;
    if (waitpid(job, &status, 0) != job || !WIFEXITED(status)) _exit(3);
    _exit(WEXITSTATUS(status));
  }
  int status = 0;
  if (waitpid(leader, &status, 0) != leader || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(JobControlTest, AJobInItsOwnGroupIsUnderJobControl) {
  EXPECT_EQ(UnderJobControlIn(true), 1);
}

TEST(JobControlTest, AGroupLedFromAnotherSessionIsNot) {
  // The grandchild shares the session leader's group, whose parent (this
  // test) is in another session: the group is orphaned.
  EXPECT_EQ(UnderJobControlIn(false), 0);
}

}  // namespace
}  // namespace sigwatch
}  // namespace portsig
