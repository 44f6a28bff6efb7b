// sigwatch's watch mode at a terminal, as a user runs it: Ctrl-C and
// Ctrl-backslash are reported as signals the kernel raised (no sending
// process), and the second Ctrl-C ends the watch with its summary and status 0.
// sigwatch runs as the session leader of a new pseudo-terminal (PtySession), so
// the keys reach it through the terminal driver as they would from a keyboard.
//
// Keys are typed only after the line for the previous one has been read
// (repeats of a signal may coalesce); waits are bounded and no test asserts
// on how long anything took.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/tools/pty_session.h"
#include "tests/tools/subprocess.h"

namespace portsig {
namespace {

using ::portsig::testing::DescribeStatus;
using ::portsig::testing::PtySession;
using ::portsig::testing::SigwatchPath;

constexpr absl::Duration kPatience = absl::Seconds(30);

bool Await(PtySession& session, const std::string& needle) {
  const bool seen = session.WaitForOutput(needle, kPatience);
  EXPECT_TRUE(seen) << "no \"" << needle << "\" in:\n" << session.output();
  return seen;
}

TEST(WatchTerminalTest, CtrlCAndCtrlBackslashAreReportedAndASecondCtrlCEnds) {
  absl::StatusOr<std::unique_ptr<PtySession>> started =
      PtySession::Start({SigwatchPath()});
  ASSERT_TRUE(started.ok()) << started.status();
  PtySession& session = **started;
  ASSERT_TRUE(Await(session, "sigwatch: watching "));
  ASSERT_TRUE(session.Type("\x03"));  // Ctrl-C
  ASSERT_TRUE(Await(session, "SIGINT (2) "));
  ASSERT_TRUE(Await(session, "count=1 code=kernel"));
  ASSERT_TRUE(session.Type("\x1c"));  // Ctrl-\ .
  ASSERT_TRUE(Await(session, "SIGQUIT (3) "));
  ASSERT_TRUE(Await(session, "count=2 code=kernel"));
  ASSERT_TRUE(session.Type("\x03"));
  ASSERT_TRUE(Await(session, "reason=interrupted"));
  std::optional<int> status = session.Wait(kPatience);
  ASSERT_TRUE(status.has_value()) << "still running:\n" << session.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeStatus(*status) << "\n"
      << session.output();
  EXPECT_TRUE(Await(session, "summary SIGINT (2) delivered=2 occurrences=2"));
  EXPECT_TRUE(Await(session, "summary SIGQUIT (3) delivered=1 occurrences=1"));
}

// In the background of a terminal with `stty tostop`, sigwatch's own
// writes used to send it SIGTTOU, which it watched (caught), so the kernel
// restarted each write and sent it again: a busy loop that never printed
// the ready line. Its writes now go through, as a program that ignores
// SIGTTOU writes; a SIGTTOU sent to it is still reported.
TEST(WatchTerminalTest, InTheBackgroundUnderTostopItStillWrites) {
  absl::StatusOr<std::unique_ptr<PtySession>> started =
      PtySession::Start({"/bin/bash", "-c",
                         absl::StrCat("stty tostop; set -m\n'", SigwatchPath(),
                                      "' --signals=TTOU,USR1 --count=1 &\n",
                                      "wait $!; echo \"status=$?\"")});
  ASSERT_TRUE(started.ok()) << started.status();
  PtySession& session = **started;
  ASSERT_TRUE(Await(session, "sigwatch: watching SIGTTOU,SIGUSR1 pid="));
  const std::string& out = session.output();
  const size_t at = out.find(" pid=", out.find("sigwatch: watching"));
  const int pid = std::atoi(out.c_str() + at + 5);
  ASSERT_GT(pid, 0) << out;
  ASSERT_EQ(kill(pid, SIGTTOU), 0);
  ASSERT_TRUE(Await(session, "SIGTTOU (22) "));
  EXPECT_TRUE(Await(session, "status=0"));
}

}  // namespace
}  // namespace portsig
