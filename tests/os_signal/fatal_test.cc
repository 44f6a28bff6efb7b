// Impossible states end the process with a clear message (issue 13,
// class 10, the sigaction part): a restore the kernel refuses, and the
// async-signal-safe helper that says so (platform/fatal.h).
#include "platform/fatal.h"

#include <signal.h>
#include <unistd.h>

#include <climits>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using testing::CapturedChild;
using testing::RunInChildCapturingStderr;

void Host(int) {}

// Without the check, Stop returned with portsig's handler still in place,
// standing in for nothing, while portsig believed it had restored.
TEST(FatalTest, ARefusedRestoreEndsTheProcessSayingWhich) {
  CapturedChild outcome = RunInChildCapturingStderr([] {
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR1, &Host));  // No delay.
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    test_hooks::fail_restore_signo.store(SIGUSR1);
    Stop(channel);
    ADD_FAILURE() << "Stop returned after a refused restore";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGABRT)) << outcome.status.ToString();
  EXPECT_NE(
      outcome.output.find(
          "portsig: cannot restore the disposition (SIGUSR1, errno 22)\n"),
      std::string::npos)
      << outcome.output;
}

// Without the check the posix queue's receiver returned at once, again and
// again: the dispatcher spun and the child exited normally after its wait.
// The dispatcher goes to sleep in the receive role once Notify has started
// it, which is where the hook acts. (No signal is sent: since the one-hop
// path the handler wakes a thread blocked in Receive directly, and that
// thread's return raced the dispatcher's first sleep: under clang the
// child often finished first.)
TEST(FatalTest, APosixReceiverFindingAnotherAsleepEndsTheProcess) {
  if (Backend().value_or("") != "posix") {
    GTEST_SKIP() << "a state of the posix backend's queue";
  }
  CapturedChild outcome = RunInChildCapturingStderr([] {
    test_hooks::posix_receiver_finds_receiving.store(true);
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    for (int i = 0; i < 100; ++i) absl::SleepFor(absl::Milliseconds(100));
    ADD_FAILURE() << "the receiver went on from an impossible state";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGABRT)) << outcome.status.ToString();
  EXPECT_NE(outcome.output.find("portsig: posix queue: the receiver found "
                                "the state already receiving\n"),
            std::string::npos)
      << outcome.output;
}

// Without the check Stop erased through the index's end(): undefined
// behaviour that here crashed by SIGSEGV or went on with a corrupted map.
TEST(FatalTest, ASubscribedNoteMissingFromTheIndexEndsTheProcess) {
  if (Backend().value_or("") != "note") {
    GTEST_SKIP() << "text notes need the note backend";
  }
  CapturedChild outcome = RunInChildCapturingStderr([] {
    test_hooks::skip_note_index.store(true);
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {Signal::Note("reload")}).ok());
    Stop(channel);
    ADD_FAILURE() << "Stop went on with a note missing from the index";
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGABRT)) << outcome.status.ToString();
  EXPECT_NE(outcome.output.find("portsig: handler map: a subscribed note "
                                "is missing from the index\n"),
            std::string::npos)
      << outcome.output;
}

void FatalInHandler(int signo) { platform::Fatal("from a handler", signo, 5); }

TEST(FatalTest, TheHelperWorksInsideASignalHandler) {
  CapturedChild outcome = RunInChildCapturingStderr([] {
    ASSERT_TRUE(testing::SetPlainHandler(SIGUSR2, &FatalInHandler));
    raise(SIGUSR2);
  });
  EXPECT_TRUE(outcome.status.killed_by(SIGABRT)) << outcome.status.ToString();
  EXPECT_EQ(outcome.output, "portsig: from a handler (SIGUSR2, errno 5)\n");
}

TEST(FatalTest, TheMessageLeavesOutWhatIsZero) {
  struct Case {
    int signo;
    int err;
    const char* expected;
  };
  for (const Case& c : {
           Case{0, 0, "portsig: state\n"},
           Case{0, 7, "portsig: state (errno 7)\n"},
           Case{SIGTERM, 0, "portsig: state (SIGTERM)\n"},
           Case{1000, INT_MIN,
                "portsig: state (signal 1000, errno -2147483648)\n"},
       }) {
    CapturedChild outcome = RunInChildCapturingStderr(
        [c] { platform::Fatal("state", c.signo, c.err); });
    EXPECT_TRUE(outcome.status.killed_by(SIGABRT)) << outcome.status.ToString();
    EXPECT_EQ(outcome.output, c.expected);
  }
}

}  // namespace
}  // namespace portsig
