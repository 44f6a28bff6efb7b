// sigwatch --relay at a terminal (issue 15): the command gets the
// terminal's foreground, the relay's parent gets it back, and a command
// stopped by Ctrl-Z or SIGTTIN is never left hanging. Each test runs a
// session on a new pseudo-terminal (PtySession): sigwatch itself as the
// session leader (nothing above it does job control), or a bash with job
// control on (set -m) that runs sigwatch as a job, as an interactive shell
// would.
//
// Commands say "ready" before they read, so the test types only once they
// have the terminal or are about to stop; waits are bounded and no test
// asserts on how long anything took.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

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

// A bash command line that reads a line and echoes it back.
constexpr char kReadLine[] =
    "echo ready; read -r line; echo \"got:$line\"; exit 5";

std::unique_ptr<PtySession> Start(const std::vector<std::string>& argv) {
  absl::StatusOr<std::unique_ptr<PtySession>> session = PtySession::Start(argv);
  EXPECT_TRUE(session.ok()) << session.status();
  return session.ok() ? *std::move(session) : nullptr;
}

// sigwatch as the session leader, relaying to bash -c `script`.
std::unique_ptr<PtySession> StartRelay(const std::vector<std::string>& flags,
                                       const std::string& script) {
  std::vector<std::string> argv = {SigwatchPath(), "--relay"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--", "/bin/bash", "-c", script});
  return Start(argv);
}

// A job-control shell as the session leader, running `script`; $SIGWATCH
// is sigwatch.
std::unique_ptr<PtySession> StartShell(const std::string& script) {
  return Start(
      {"/bin/bash", "-c",
       absl::StrCat("SIGWATCH='", SigwatchPath(), "'; set -m\n", script)});
}

bool Await(PtySession& session, const std::string& needle) {
  const bool seen = session.WaitForOutput(needle, kPatience);
  EXPECT_TRUE(seen) << "no \"" << needle << "\" in:\n" << session.output();
  return seen;
}

// The leader's exit code; -1 (and a failure) if it did not exit by itself.
int ExitCodeOf(PtySession& session) {
  std::optional<int> status = session.Wait(kPatience);
  EXPECT_TRUE(status.has_value()) << "still running:\n" << session.output();
  if (!status) return -1;
  EXPECT_TRUE(WIFEXITED(*status)) << DescribeStatus(*status) << "\n"
                                  << session.output();
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

TEST(RelayTerminalTest, TheCommandReadsTheTerminal) {
  // Outside the foreground group, the read would stop bash by SIGTTIN.
  auto session = StartRelay({}, kReadLine);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Await(*session, "ready"));
  ASSERT_TRUE(session->Type("hello\n"));
  ASSERT_TRUE(Await(*session, "got:hello"));
  EXPECT_EQ(ExitCodeOf(*session), 5);
}

TEST(RelayTerminalTest, TheTerminalIsGivenBackWhenTheCommandEnds) {
  // The session leader reads after sigwatch: left with the foreground on
  // the command's dead group, its read would fail (EIO: the leader's group
  // is orphaned, so it is not stopped but refused).
  auto session =
      Start({"/bin/bash", "-c",
             absl::StrCat("'", SigwatchPath(), "' --relay -- true; ", "'",
                          SigwatchPath(), "' --relay -- /nonexistent/cmd; ",
                          "echo status=$?; read -r line; echo \"after:$line\"",
                          "; exit 0")});
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Await(*session, "status=127"));
  ASSERT_TRUE(session->Type("back\n"));
  ASSERT_TRUE(Await(*session, "after:back"));
  EXPECT_EQ(ExitCodeOf(*session), 0);
}

TEST(RelayTerminalTest, CtrlZUnderJobControlStopsTheJobAndFgResumesIt) {
  // Ctrl-Z reaches only the command's group (it has the foreground); the
  // shell waits for sigwatch, which stops too so the shell sees its job
  // stop. `fg` then resumes sigwatch, which hands the terminal on and
  // resumes the command.
  auto session =
      StartShell(absl::StrCat("\"$SIGWATCH\" --relay -- bash -c '", kReadLine,
                              "'\necho status=$?; jobs; fg; echo fg=$?"));
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Await(*session, "ready"));
  ASSERT_TRUE(session->Type("\x1a"));
  ASSERT_TRUE(Await(*session, "status=147"));
  ASSERT_TRUE(Await(*session, "Stopped"));
  ASSERT_TRUE(session->Type("hello\n"));
  ASSERT_TRUE(Await(*session, "got:hello"));
  ASSERT_TRUE(Await(*session, "fg=5"));
  EXPECT_EQ(ExitCodeOf(*session), 0);
}

TEST(RelayTerminalTest, CtrlZWithNoJobControlAboveIsUndone) {
  // Nothing could resume sigwatch (it leads the session): the stopped
  // command is resumed, as the kernel does not stop an orphaned group
  // with SIGTSTP.
  auto session = StartRelay({"--verbose"}, kReadLine);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Await(*session, "ready"));
  ASSERT_TRUE(session->Type("\x1a"));
  ASSERT_TRUE(Await(*session, "command stopped by SIGTSTP"));
  ASSERT_TRUE(session->Type("hello\n"));
  ASSERT_TRUE(Await(*session, "got:hello"));
  EXPECT_EQ(ExitCodeOf(*session), 5);
}

TEST(RelayTerminalTest, ABackgroundJobThatReadsStopsAndFgResumesIt) {
  // Started in the background, sigwatch leaves the terminal to the shell;
  // its command's read stops it by SIGTTIN, and sigwatch stops with it so
  // the shell shows the job stopped; `fg` gives it the terminal.
  auto session = StartShell(absl::StrCat(
      "\"$SIGWATCH\" --relay -- bash -c 'read -r line; echo \"got:$line\"' &\n"
      "exec 8<> <(:)\n"
      "for ((i = 0; i < 600; i++)); do\n"
      "  [[ $(jobs) == *Stopped* ]] && break; read -r -t 0.05 -u 8\n"
      "done\n"
      "echo \"jobs: $(jobs)\"; fg; echo fg=$?"));
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Await(*session, "jobs: [1]+  Stopped"));
  ASSERT_TRUE(session->Type("hello\n"));
  ASSERT_TRUE(Await(*session, "got:hello"));
  ASSERT_TRUE(Await(*session, "fg=0"));
  EXPECT_EQ(ExitCodeOf(*session), 0);
}

// Relay mode catches SIGTTOU (to forward it). In the background of a
// terminal with `stty tostop`, its --verbose lines sent it SIGTTOU, and the
// kernel restarted each write and sent it again: a busy loop in which the
// relay never reaped its command nor exited. Its own writes now go through;
// the command's, from the background, still stop it (as they should), and
// the job with it.
TEST(RelayTerminalTest, InTheBackgroundUnderTostopItsOwnLinesGoThrough) {
  auto session = StartShell(
      "stty tostop\n"
      "\"$SIGWATCH\" --relay --verbose -- true &\n"
      "wait $!; echo \"status=$?\"");
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Await(*session, "sigwatch: relaying "));
  ASSERT_TRUE(Await(*session, "reason=child-exited exit=0"));
  ASSERT_TRUE(Await(*session, "status=0"));
  EXPECT_EQ(ExitCodeOf(*session), 0);
}

}  // namespace
}  // namespace portsig
