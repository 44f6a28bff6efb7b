// sigwatch when what it writes cannot be written: stdout on a full disk, or
// on a pipe whose reader is gone (`sigwatch | head -1` after head exits),
// with SIGPIPE at its default action, ignored (inherited so, as from a
// supervisor), or watched; and relay mode's --verbose stderr the same.
//
// Watch mode stops at the failed write and exits 1 with the reason on
// stderr, as coreutils do; with SIGPIPE's default action it dies of the
// signal, as `yes | head -1` does. It must never go on writing into the void:
// a watched SIGPIPE raised by its own write is a delivery to report, whose
// write raises another, a loop that never blocks. Relay mode's reports are
// diagnostics: the relay goes on relaying and exits with its command's
// status.
//
// The broken pipe is made without a race: a FIFO opened for reading and
// writing, then for writing, then its reading end closed, all by one shell
// before sigwatch starts. Built once per backend (PORTSIG_SIGQUEUE is
// inherited). Waits are bounded and never assert on how long anything took.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/subprocess.h"

namespace portsig {
namespace {

using ::portsig::testing::DescribeStatus;
using ::portsig::testing::SigwatchPath;
using ::portsig::testing::Subprocess;
using ::testing::Contains;

constexpr absl::Duration kPatience = absl::Seconds(30);

// A bash script that runs `sigwatch_args` (shell words) with fd 5, a pipe
// nobody reads, as `stream` ("1" stdout, "2" stderr), and then says
// "sigwatch exited N" on stdout. `sigpipe` is a trap for PIPE first ("''":
// ignored) or empty (the default action).
std::string WithNoReader(const std::string& sigpipe, const std::string& stream,
                         const std::string& sigwatch_args) {
  std::string script = sigpipe.empty() ? "" : "trap " + sigpipe + " PIPE\n";
  absl::StrAppend(&script,
                  "cd \"${TEST_TMPDIR:-${TMPDIR:-/tmp}}\" && rm -f fifo$$ && "
                  "mkfifo fifo$$\n",
                  // O_RDWR does not wait for a reader; with fd 4 reading,
                  // neither does O_WRONLY; then the only reader goes.
                  "exec 4<>fifo$$ 5>fifo$$ 4<&-; rm -f fifo$$\n",
                  SigwatchPath(), " ", sigwatch_args, " ", stream, ">&5 5>&-\n",
                  "echo \"sigwatch exited $?\"\n");
  return script;
}

std::unique_ptr<Subprocess> StartBash(const std::string& script) {
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start({"/bin/bash", "-c", script});
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

// sigwatch's pid from its ready line ("... pid=N ...") on stderr, or -1.
pid_t AwaitReady(Subprocess& bash) {
  std::optional<std::string> ready =
      bash.WaitForLine(Subprocess::kStderr, " pid=", kPatience);
  EXPECT_TRUE(ready.has_value()) << bash.Transcript();
  if (!ready) return -1;
  std::string rest = ready->substr(ready->find(" pid=") + 5);
  int pid = -1;
  EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &pid)) << *ready;
  return pid;
}

// Whether the shell ran to its end (so sigwatch did), with its output read.
bool Finishes(Subprocess& bash) {
  std::optional<int> status = bash.Wait(kPatience);
  EXPECT_TRUE(status.has_value()) << "still running: sigwatch did not stop\n"
                                  << bash.Transcript();
  if (!status) return false;
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << DescribeStatus(*status) << "\n"
      << bash.Transcript();
  return true;
}

TEST(WatchOutputTest, FullDiskExitsOneAndSaysWhy) {
  auto bash = StartBash(absl::StrCat(SigwatchPath(),
                                     " --signals=USR1 --timeout=0 >/dev/full\n",
                                     "echo \"sigwatch exited $?\""));
  ASSERT_NE(bash, nullptr);
  ASSERT_TRUE(Finishes(*bash));
  EXPECT_THAT(bash->lines(Subprocess::kStdout), Contains("sigwatch exited 1"))
      << bash->Transcript();
  EXPECT_THAT(bash->lines(Subprocess::kStderr),
              Contains("sigwatch: writing stdout: No space left on device"))
      << bash->Transcript();
}

TEST(WatchOutputTest, HelpOnAFullDiskExitsOne) {
  auto bash = StartBash(absl::StrCat(SigwatchPath(), " --help >/dev/full\n",
                                     "echo \"sigwatch exited $?\""));
  ASSERT_NE(bash, nullptr);
  ASSERT_TRUE(Finishes(*bash));
  EXPECT_THAT(bash->lines(Subprocess::kStdout), Contains("sigwatch exited 1"))
      << bash->Transcript();
  EXPECT_THAT(bash->lines(Subprocess::kStderr),
              Contains("sigwatch: writing stdout: No space left on device"))
      << bash->Transcript();
}

// With SIGPIPE ignored, the write fails with EPIPE. Before, sigwatch
// ignored the failure and watched on, until its timeout (here: forever).
TEST(WatchOutputTest, ReaderGoneWithSigpipeIgnoredExitsOne) {
  auto bash = StartBash(WithNoReader("''", "1", "--signals=USR1"));
  ASSERT_NE(bash, nullptr);
  const pid_t sigwatch = AwaitReady(*bash);
  ASSERT_GT(sigwatch, 0);
  ASSERT_EQ(kill(sigwatch, SIGUSR1), 0);
  ASSERT_TRUE(Finishes(*bash));
  EXPECT_THAT(bash->lines(Subprocess::kStdout), Contains("sigwatch exited 1"))
      << bash->Transcript();
  EXPECT_THAT(bash->lines(Subprocess::kStderr),
              Contains("sigwatch: writing stdout: Broken pipe"))
      << bash->Transcript();
}

// Watched, the SIGPIPE that sigwatch's own failed write raises is a
// delivery; before, reporting it raised the next one, a busy loop without
// end.
TEST(WatchOutputTest, ReaderGoneWithSigpipeWatchedExitsOne) {
  for (const char* format : {"text", "json"}) {
    auto bash = StartBash(WithNoReader(
        "", "1", absl::StrCat("--signals=USR1,PIPE --format=", format)));
    ASSERT_NE(bash, nullptr);
    const pid_t sigwatch = AwaitReady(*bash);
    ASSERT_GT(sigwatch, 0);
    ASSERT_EQ(kill(sigwatch, SIGUSR1), 0);
    ASSERT_TRUE(Finishes(*bash)) << format;
    EXPECT_THAT(bash->lines(Subprocess::kStdout), Contains("sigwatch exited 1"))
        << format << "\n"
        << bash->Transcript();
    EXPECT_THAT(bash->lines(Subprocess::kStderr),
                Contains("sigwatch: writing stdout: Broken pipe"))
        << format << "\n"
        << bash->Transcript();
  }
}

// SIGPIPE's default action: sigwatch dies of it, as any filter does.
TEST(WatchOutputTest, ReaderGoneWithSigpipeDefaultDiesOfIt) {
  auto bash = StartBash(WithNoReader("", "1", "--signals=USR1"));
  ASSERT_NE(bash, nullptr);
  const pid_t sigwatch = AwaitReady(*bash);
  ASSERT_GT(sigwatch, 0);
  ASSERT_EQ(kill(sigwatch, SIGUSR1), 0);
  ASSERT_TRUE(Finishes(*bash));
  EXPECT_THAT(bash->lines(Subprocess::kStdout),
              Contains(absl::StrCat("sigwatch exited ", 128 + SIGPIPE)))
      << bash->Transcript();
}

// Relay mode's --verbose lines go to stderr; with nobody reading them the
// relay still forwards, and exits with the command's status. (Each report
// raised a SIGPIPE from the relay itself, which it reported: the loop that
// tools/reporter.h now ends, tested in reporter_test.)
TEST(RelayOutputTest, VerboseStderrWithNoReaderRelaysOn) {
  // The command inherits the relay's stderr, which goes nowhere, so it
  // reports on stdout, which the test reads, with the relay's pid (its
  // parent). It waits in bash builtins: a forwarded signal reaches its
  // whole group.
  const std::string command =
      "--relay --verbose -- /bin/bash -c 'trap \"echo got USR1\" USR1; "
      "trap \"exit 5\" USR2; exec 8<> <(:); echo ready $PPID; "
      "while :; do read -r -t 0.05 -u 8; done'";
  auto bash = StartBash(WithNoReader("", "2", command));
  ASSERT_NE(bash, nullptr);
  std::optional<std::string> ready =
      bash->WaitForLine(Subprocess::kStdout, "ready ", kPatience);
  ASSERT_TRUE(ready.has_value()) << bash->Transcript();
  int relay = 0;
  ASSERT_TRUE(absl::SimpleAtoi(ready->substr(6), &relay)) << *ready;
  ASSERT_EQ(kill(relay, SIGUSR1), 0);
  ASSERT_TRUE(
      bash->WaitForLine(Subprocess::kStdout, "got USR1", kPatience).has_value())
      << bash->Transcript();
  ASSERT_EQ(kill(relay, SIGUSR2), 0);
  ASSERT_TRUE(Finishes(*bash));
  EXPECT_THAT(bash->lines(Subprocess::kStdout), Contains("sigwatch exited 5"))
      << bash->Transcript();
}

}  // namespace
}  // namespace portsig
