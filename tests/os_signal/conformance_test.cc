// The os_signal conformance suite: C++ counterparts of what Go's os/signal
// tests check. Built once per backend (PORTSIG_SIGQUEUE=posix|note). Every
// test that raises a signal does so in a forked child (RunInChild), so a
// default action can only kill the child.
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/dispositions.h"
#include "tests/testing/linux_layer.h"
#include "tests/testing/proc_tasks.h"
#include "tests/testing/readable.h"

namespace portsig {
namespace {

using ::portsig::testing::RaiseAndDispatch;
using ::portsig::testing::Readable;
using ::portsig::testing::RunInChild;
using ::portsig::testing::WaitForDispatch;
using ::testing::HasSubstr;

std::string Backend() { return std::getenv("PORTSIG_SIGQUEUE"); }

using ::portsig::testing::CurrentAction;

// Compares what a program can set (see tests/testing/dispositions.h).
::testing::AssertionResult SameAction(const struct sigaction& a,
                                      const struct sigaction& b) {
  const std::string difference = testing::DescribeDifference(a, b);
  if (difference.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << difference;
}

TEST(SignalTest, ParseAcceptsNamesNumbersAndNotes) {
  EXPECT_EQ(Signal::Parse("SIGINT")->number(), SIGINT);
  EXPECT_EQ(Signal::Parse("INT")->number(), SIGINT);
  EXPECT_EQ(Signal::Parse("int")->number(), SIGINT);
  EXPECT_EQ(Signal::Parse("2")->number(), SIGINT);
  EXPECT_EQ(Signal::Parse("interrupt")->number(), SIGINT);
  EXPECT_EQ(Signal::Parse("hangup")->number(), SIGHUP);
  EXPECT_EQ(Signal::Parse("SIGRTMIN+2")->number(), SIGRTMIN + 2);
  EXPECT_EQ(Signal::Parse("note:reload")->note(), "reload");
  EXPECT_EQ(Signal::Note("term"), Signal(SIGTERM));
  EXPECT_EQ(Signal(SIGINT).ToString(), "SIGINT");
  EXPECT_EQ(Signal::Note("reload").ToString(), "reload");
  for (const char* bad : {"SIGFOO", "", "0", "65", "-3", "KILL", "note:"}) {
    auto parsed = Signal::Parse(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(std::string(Signal::Parse("SIGFOO").status().message()),
              HasSubstr("SIGFOO"));
}

// Offsets and numbers at the edges of int: each is refused with its own
// text in the message, and none overflows (the UBSan build aborts on signed
// overflow, which "SIGRTMIN+2147483647" used to be).
TEST(SignalTest, ParseRefusesOutOfRangeOffsetsAndNumbersByValue) {
  const int span = SIGRTMAX - SIGRTMIN;
  EXPECT_EQ(Signal::Parse(absl::StrCat("SIGRTMIN+", span))->number(), SIGRTMAX);
  EXPECT_EQ(Signal::Parse(absl::StrCat("RTMAX-", span))->number(), SIGRTMIN);
  EXPECT_EQ(Signal::Parse("SIGRTMAX-0")->number(), SIGRTMAX);
  EXPECT_EQ(Signal::Parse("+2")->number(), SIGINT);
  struct Case {
    std::string text;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"SIGRTMIN+2147483647", "SIGRTMIN+2147483647\" is not a real-time"},
      {"rtmin+2147483647", "rtmin+2147483647"},
      {absl::StrCat("SIGRTMIN+", span + 1), "N in 0.."},
      {"SIGRTMAX-2147483647", "SIGRTMAX-2147483647"},
      {"SIGRTMAX-2147483648", "SIGRTMAX-2147483648"},
      {"SIGRTMIN+-1", "SIGRTMIN+-1"},
      {"RTMAX+1", "RTMAX+1"},
      {"2147483647", "signal 2147483647 is out of range"},
      {"2147483648", "signal number \"2147483648\" is out of range"},
      {"-2147483648", "signal -2147483648 is out of range"},
      {"-2147483649", "\"-2147483649\" is out of range"},
      {"99999999999999999999999", "99999999999999999999999"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Signal> parsed = Signal::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text << " parsed as " << parsed->ToString();
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.names))
        << c.text;
  }
}

// One grammar: a name (SIG optional, any case), a real-time name RTMIN,
// RTMIN+N, RTMAX or RTMAX-N (SIG optional, any case) with N decimal digits
// only, a decimal number with at most a leading '+', or note:TEXT;
// whitespace around the whole is ignored, whitespace inside is not.
// absl::SimpleAtoi, which read the offset, skips whitespace and takes a
// sign, so "SIGRTMIN+ 3", "SIGRTMIN++3" and "SIGRTMIN+-0" were accepted.
TEST(SignalTest, ParseTakesRealTimeOffsetsAsDigitsOnly) {
  const std::vector<std::pair<std::string, int>> accepted = {
      {"SIGRTMIN+3", SIGRTMIN + 3},
      {"RTMIN+3", SIGRTMIN + 3},
      {"sigrtmin+3", SIGRTMIN + 3},
      {"RTMIN+03", SIGRTMIN + 3},
      {"SIGRTMIN", SIGRTMIN},
      {"RTMIN+0", SIGRTMIN},
      {"SIGRTMAX-2", SIGRTMAX - 2},
      {"RTMAX-2", SIGRTMAX - 2},
      {"RTMAX", SIGRTMAX},
      {" RTMIN+3 ", SIGRTMIN + 3},
      {"\tSIGRTMAX-2\n", SIGRTMAX - 2},
      {absl::StrCat(SIGRTMIN + 3), SIGRTMIN + 3},
      {"+2", SIGINT},
      {"02", SIGINT},
      {" 2 ", SIGINT},
  };
  for (const auto& [text, number] : accepted) {
    absl::StatusOr<Signal> parsed = Signal::Parse(text);
    ASSERT_TRUE(parsed.ok()) << "\"" << text << "\": " << parsed.status();
    EXPECT_EQ(parsed->number(), number) << "\"" << text << "\"";
  }
  // Each refused with InvalidArgument quoting it (as trimmed).
  const std::vector<std::string> refused = {
      "SIGRTMIN+ 3", "SIGRTMIN+\t3", "SIGRTMIN+3 3", "SIGRTMIN +3",
      "SIGRTMIN++3", "SIGRTMIN+-3",  "SIGRTMIN+-0",  "SIGRTMIN+3x",
      "RTMIN+0x3",   "RTMIN+",       "RTMIN+ ",      "SIGRTMAX- 2",
      "RTMAX--0",    "RTMAX-+2",     "SIGRTMAX - 2", "SIG RTMIN+3",
      "SIG INT",     "+ 2",          "- 2",          "+-2",
      "2 3",
  };
  for (const std::string& text : refused) {
    absl::StatusOr<Signal> parsed = Signal::Parse(text);
    if (parsed.ok()) {
      ADD_FAILURE() << "\"" << text << "\" parsed as " << parsed->ToString();
      continue;
    }
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << text;
    EXPECT_THAT(
        std::string(parsed.status().message()),
        HasSubstr(absl::StrCat("\"", absl::StripAsciiWhitespace(text), "\"")))
        << text;
  }
}

TEST(SignalTest, BadInputIsRejectedByNameAndChangesNothing) {
  ASSERT_TRUE(RunInChild([] {
                SignalChannel ch(1);
                const struct sigaction before = CurrentAction(SIGUSR1);
                struct Case {
                  Signal signal;
                  const char* names;
                };
                const Case cases[] = {
                    {0, "signal 0"},
                    {-1, "signal -1"},
                    {NSIG, "signal 65"},
                    {SIGKILL, "SIGKILL"},
                    {SIGSTOP, "SIGSTOP"},
                    {32, "signal 32"},
                    {Signal::Note(""), "empty note"},
                    {Signal::Note(std::string(128, 'x')), "128 bytes"},
                    {Signal::Note(std::string("a\0b", 3)), "NUL"},
                };
                for (const Case& c : cases) {
                  absl::Status status = Notify(ch, {SIGUSR1, c.signal});
                  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
                      << c.names;
                  EXPECT_THAT(std::string(status.message()),
                              HasSubstr(c.names));
                  EXPECT_EQ(Ignore({c.signal}).code(),
                            absl::StatusCode::kInvalidArgument);
                  EXPECT_EQ(Reset({c.signal}).code(),
                            absl::StatusCode::kInvalidArgument);
                }
                // Nothing was registered: SIGUSR1's disposition is untouched.
                EXPECT_TRUE(SameAction(before, CurrentAction(SIGUSR1)));
                // Go issue 77076: Stop after an all-invalid Notify returns.
                EXPECT_FALSE(Notify(ch, {0}).ok());
                Stop(ch);
                Stop(ch);
                SignalChannel never_registered(1);
                Stop(never_registered);
                EXPECT_EQ(PostNote("sys: trap").code(),
                          absl::StatusCode::kInvalidArgument);
              }).exited_ok());
}

TEST(NotifyTest, DeliversToOneAndManyChannels) {
  auto status = RunInChild([] {
    SignalChannel one(1), two(1), three(4);
    ASSERT_TRUE(Notify(one, {SIGHUP}).ok());
    ASSERT_TRUE(Notify(two, {SIGHUP, SIGUSR1}).ok());
    ASSERT_TRUE(Notify(three, {SIGWINCH, SIGUSR1, SIGHUP}).ok());
    RaiseAndDispatch(SIGHUP);
    EXPECT_EQ(one.TryReceive(), Signal(SIGHUP));
    EXPECT_EQ(two.TryReceive(), Signal(SIGHUP));
    EXPECT_EQ(three.TryReceive(), Signal(SIGHUP));
    RaiseAndDispatch(SIGUSR1);
    RaiseAndDispatch(SIGWINCH);
    EXPECT_EQ(one.TryReceive(), std::nullopt);
    EXPECT_EQ(two.TryReceive(), Signal(SIGUSR1));
    EXPECT_EQ(three.TryReceive(), Signal(SIGUSR1));
    EXPECT_EQ(three.TryReceive(), Signal(SIGWINCH));
    // Blocking receive from another thread.
    std::thread raiser([] { kill(getpid(), SIGHUP); });
    EXPECT_EQ(one.Receive(), Signal(SIGHUP));
    raiser.join();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(NotifyTest, EmptyListMeansEverySignalAndRepeatedCallsAdd) {
  auto status = RunInChild([] {
    SignalChannel all(8), some(8);
    ASSERT_TRUE(Notify(all).ok());
    ASSERT_TRUE(Notify(some, {SIGUSR1}).ok());
    ASSERT_TRUE(Notify(some, {SIGUSR2}).ok());
    for (int s : {SIGUSR1, SIGUSR2, SIGWINCH, SIGRTMIN + 1}) {
      RaiseAndDispatch(s);
      EXPECT_EQ(all.TryReceive(), Signal(s)) << s;
    }
    EXPECT_EQ(some.TryReceive(), Signal(SIGUSR1));
    EXPECT_EQ(some.TryReceive(), Signal(SIGUSR2));
    EXPECT_EQ(some.TryReceive(), std::nullopt);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(NotifyTest, StressManySignalsManyChannels) {
  auto status = RunInChild([] {
    constexpr int kChannels = 50;
    std::vector<std::unique_ptr<SignalChannel>> channels;
    for (int i = 0; i < kChannels; ++i) {
      channels.push_back(std::make_unique<SignalChannel>(1));
      ASSERT_TRUE(Notify(*channels.back(), {SIGUSR1, SIGUSR2}).ok());
    }
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t) {
      senders.emplace_back([t] {
        for (int i = 0; i < 2000; ++i)
          kill(getpid(), t % 2 ? SIGUSR1 : SIGUSR2);
      });
    }
    for (auto& t : senders) t.join();
    // The last signal of each kind reaches every channel: drain, raise once
    // more, and each channel holds it.
    WaitForDispatch();
    for (auto& ch : channels) {
      while (ch->TryReceive()) {
      }
    }
    RaiseAndDispatch(SIGUSR1);
    for (auto& ch : channels) {
      EXPECT_EQ(ch->TryReceive(), Signal(SIGUSR1));
      EXPECT_GE(ch->delivered(), 2u);
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(StopTest, AfterStopTheDefaultActionApplies) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    RaiseAndDispatch(SIGUSR1);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    Stop(ch);
    std::fflush(nullptr);
    if (::testing::Test::HasFailure()) _exit(1);
    raise(SIGUSR1);  // Default action: terminate.
    _exit(3);
  });
  EXPECT_TRUE(status.killed_by(SIGUSR1)) << status.ToString();
}

TEST(StopTest, DestroyingARegisteredChannelStopsIt) {
  auto status = RunInChild([] {
    {
      SignalChannel ch(1);
      ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    }
    std::fflush(nullptr);
    raise(SIGUSR2);
    _exit(3);
  });
  EXPECT_TRUE(status.killed_by(SIGUSR2)) << status.ToString();
}

// A stopped channel keeps its (empty) record of what it wants for its next
// Notify: it must receive nothing while stopped, and everything again once
// notified again, as many times as the program likes.
TEST(StopTest, StoppedChannelReceivesNothingUntilNotifiedAgain) {
  auto status = RunInChild([] {
    SignalChannel keep(8);  // Keeps SIGUSR1 handled throughout.
    ASSERT_TRUE(Notify(keep, {SIGUSR1}).ok());
    SignalChannel ch(8);
    for (int round = 0; round < 3; ++round) {
      ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
      RaiseAndDispatch(SIGUSR1);
      EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1)) << "round " << round;
      Stop(ch);
      RaiseAndDispatch(SIGUSR1);
      EXPECT_EQ(ch.TryReceive(), std::nullopt) << "round " << round;
    }
    EXPECT_EQ(ch.delivered(), 3u);
    EXPECT_EQ(keep.delivered(), 6u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(NohupTest, InheritedIgnoreIsReportedAndNotifyTakesOver) {
  auto status = RunInChild([] {
    // As if started under nohup: SIGHUP ignored before portsig runs.
    signal(SIGHUP, SIG_IGN);
    EXPECT_TRUE(Ignored(SIGHUP));
    EXPECT_FALSE(Ignored(SIGINT));
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGHUP}).ok());
    EXPECT_FALSE(Ignored(SIGHUP));
    RaiseAndDispatch(SIGHUP);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGHUP));
    Stop(ch);
    // Restored to the inherited SIG_IGN: survives another SIGHUP.
    EXPECT_TRUE(Ignored(SIGHUP));
    EXPECT_EQ(CurrentAction(SIGHUP).sa_handler, SIG_IGN);
    raise(SIGHUP);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(NotifyTest, SigcontIsRelayed) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGCONT}).ok());
    RaiseAndDispatch(SIGCONT);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGCONT));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(IgnoreTest, IgnoreIgnoredAndResetRestoreExactly) {
  auto status = RunInChild([] {
    const struct sigaction before = CurrentAction(SIGUSR1);
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_TRUE(Ignore({SIGUSR1}).ok());
    EXPECT_TRUE(Ignored(SIGUSR1));
    RaiseAndDispatch(SIGUSR1);  // Ignored: survives, and not relayed.
    EXPECT_EQ(ch.TryReceive(), std::nullopt);
    ASSERT_TRUE(Reset({SIGUSR1}).ok());
    EXPECT_FALSE(Ignored(SIGUSR1));
    EXPECT_TRUE(SameAction(before, CurrentAction(SIGUSR1)));
    // Notify after Ignore un-ignores.
    ASSERT_TRUE(Ignore({SIGUSR2}).ok());
    ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    EXPECT_FALSE(Ignored(SIGUSR2));
    RaiseAndDispatch(SIGUSR2);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR2));
    ASSERT_TRUE(Reset().ok());
    EXPECT_TRUE(SameAction(before, CurrentAction(SIGUSR2)));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

std::atomic<int> g_host_calls{0};
std::atomic<int> g_host_code{0};
void HostHandler(int, siginfo_t* info, void*) {
  g_host_calls.fetch_add(1);
  g_host_code.store(info->si_code);
  errno = EIO;  // A careless host handler.
}

TEST(CoexistTest, HostHandlerIsSavedRelayedAroundAndRestoredExactly) {
  auto status = RunInChild([] {
    struct sigaction host;
    std::memset(&host, 0, sizeof(host));
    host.sa_sigaction = &HostHandler;
    host.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&host.sa_mask);
    sigaddset(&host.sa_mask, SIGTERM);
    sigaction(SIGUSR2, &host, nullptr);

    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    RaiseAndDispatch(SIGUSR2);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR2));
    EXPECT_EQ(g_host_calls.load(), 0);  // Wanted: portsig's alone.
    Stop(ch);
    EXPECT_TRUE(SameAction(host, CurrentAction(SIGUSR2)));
    raise(SIGUSR2);
    EXPECT_EQ(g_host_calls.load(), 1);
    EXPECT_EQ(g_host_code.load(), SI_TKILL);
    // A signal portsig never asked for is never touched.
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    EXPECT_TRUE(SameAction(host, CurrentAction(SIGUSR2)));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(HandlerTest, ErrnoIsPreserved) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    for (int i = 0; i < 100; ++i) {
      errno = ERANGE;
      raise(SIGUSR1);
      ASSERT_EQ(errno, ERANGE);
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ContextTest, DoneAtFirstSignalRemembersItAndStops) {
  auto status = RunInChild([] {
    auto ctx = NotifyContext({SIGINT, SIGTERM});
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    auto child = NotifyContext({SIGUSR1}, &*ctx);
    ASSERT_TRUE(child.ok());
    EXPECT_FALSE(ctx->done());
    EXPECT_TRUE(ctx->status().ok());
    RaiseAndDispatch(SIGTERM);
    EXPECT_TRUE(ctx->WaitFor(absl::Seconds(30)));
    EXPECT_EQ(ctx->signal(), Signal(SIGTERM));
    EXPECT_EQ(ctx->status().code(), absl::StatusCode::kCancelled);
    EXPECT_THAT(std::string(ctx->status().message()), HasSubstr("SIGTERM"));
    // Nested: the parent's end ends the child.
    EXPECT_TRUE(child->done());
    EXPECT_EQ(child->signal(), std::nullopt);
    // A second signal does not change the cause.
    RaiseAndDispatch(SIGINT);
    EXPECT_EQ(ctx->signal(), Signal(SIGTERM));
    ctx->Stop();
    child->Stop();
    auto stopped = NotifyContext({SIGUSR2});
    ASSERT_TRUE(stopped.ok());
    stopped->Stop();
    EXPECT_TRUE(stopped->done());
    EXPECT_THAT(std::string(stopped->status().message()), HasSubstr("stopped"));
    std::fflush(nullptr);
    if (::testing::Test::HasFailure()) _exit(1);
    raise(SIGTERM);  // Released: default action again.
    _exit(3);
  });
  EXPECT_TRUE(status.killed_by(SIGTERM)) << status.ToString();
}

TEST(ChannelTest, UnbufferedHandsOverOnlyToABlockedReceiver) {
  auto status = RunInChild([] {
    SignalChannel unbuffered(0);
    ASSERT_TRUE(Notify(unbuffered, {SIGUSR1}).ok());
    RaiseAndDispatch(SIGUSR1);  // Nobody receiving: dropped.
    EXPECT_EQ(unbuffered.dropped(), 1u);
    EXPECT_EQ(unbuffered.TryReceive(), std::nullopt);
    std::thread raiser([] {
      // Raise until the receiver below has taken one.
      SignalChannel probe(1);
      for (int i = 0; i < 100000; ++i) {
        kill(getpid(), SIGUSR1);
        WaitForDispatch();
        if (probe.size() > 0) break;
      }
    });
    EXPECT_EQ(unbuffered.Receive(), Signal(SIGUSR1));
    kill(getpid(), SIGUSR2);  // Unrelated: ends nothing.
    raiser.join();
  });
  // SIGUSR2 is not handled: the child dies of it after the hand-over.
  EXPECT_TRUE(status.killed_by(SIGUSR2)) << status.ToString();
}

TEST(ChannelTest, FullChannelDropsAndCounts) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    for (int i = 0; i < 3; ++i) RaiseAndDispatch(SIGUSR1);
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch.delivered(), 1u);
    EXPECT_EQ(ch.dropped(), 2u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ChannelTest, ReadyFdPollsReadableWhileHoldingASignal) {
  auto status = RunInChild([] {
    SignalChannel ch(2);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}).ok());
    auto fd = ch.ReadyFd();
    ASSERT_TRUE(fd.ok());
    EXPECT_FALSE(Readable(*fd));
    RaiseAndDispatch(SIGUSR1);
    RaiseAndDispatch(SIGUSR2);
    EXPECT_TRUE(Readable(*fd));
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    EXPECT_TRUE(Readable(*fd));
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR2));
    EXPECT_FALSE(Readable(*fd));
    EXPECT_EQ(*ch.ReadyFd(), *fd);  // Created once.
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ForkTest, ChildNotifiesAndReceivesParentUnaffected) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    RaiseAndDispatch(SIGUSR1);
    ASSERT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    auto grandchild = RunInChild([&] {
      SignalChannel mine(1);
      ASSERT_TRUE(Notify(mine, {SIGUSR2}).ok());
      RaiseAndDispatch(SIGUSR2);
      EXPECT_EQ(mine.TryReceive(), Signal(SIGUSR2));
      RaiseAndDispatch(SIGUSR1);  // Inherited registration works too.
      EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    });
    EXPECT_TRUE(grandchild.exited_ok()) << grandchild.ToString();
    RaiseAndDispatch(SIGUSR1);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ForkTest, ChildGetsItsOwnReadyFdAndLeavesTheParentsAlone) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    auto parent_fd = ch.ReadyFd();
    ASSERT_TRUE(parent_fd.ok());
    // The parent holds a signal: its descriptor is readable.
    RaiseAndDispatch(SIGUSR1);
    ASSERT_TRUE(Readable(*parent_fd));
    auto child = RunInChild([&] {
      // Taking the inherited signal in the child must not reset the
      // parent's readiness; the child gets a descriptor of its own.
      auto child_fd = ch.ReadyFd();
      ASSERT_TRUE(child_fd.ok());
      EXPECT_TRUE(Readable(*child_fd));
      RaiseAndDispatch(SIGUSR1);  // Delivered in the child; buffer full.
      EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
      // Drained: the child's descriptor is not readable, and ending here
      // with it cleared would clear a shared descriptor for the parent.
      EXPECT_FALSE(Readable(*child_fd));
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    EXPECT_TRUE(Readable(*parent_fd))
        << "the child's receive cleared the parent's ReadyFd";
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    EXPECT_FALSE(Readable(*parent_fd));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A parent thread blocked in Receive when the process forks does not exist
// in the child, but the child's copy of the channel counted it. The child's
// own receiver must get signal after signal: the copied condition variable
// once made the child's second delivery wait forever for the missing thread.
TEST(ForkTest, ChildReceivesOnAChannelAParentThreadWaitedOn) {
  PORTSIG_SKIP_UNLESS_LINUX_LAYER(
      "/proc/self/task/TID/syscall shows when a receiver sleeps");
  auto status = RunInChild([] {
    static SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    static std::atomic<pid_t> parent_receiver{0};
    // Detached: TSan rejects a child's threads that reuse a joinable
    // parent thread's stack.
    std::thread([] {
      parent_receiver = static_cast<pid_t>(syscall(SYS_gettid));
      ch.Receive();
    }).detach();
    while (parent_receiver.load() == 0) usleep(100);
    testing::WaitUntilBlocked(parent_receiver.load());
    auto child = RunInChild([] {
      static std::atomic<pid_t> receiver{0};
      static std::atomic<int> received{0};
      std::thread([] {
        receiver = static_cast<pid_t>(syscall(SYS_gettid));
        for (int i = 0; i < 3; ++i) {
          ch.Receive();
          received.fetch_add(1);
        }
      }).detach();
      while (receiver.load() == 0) usleep(100);
      for (int round = 1; round <= 3; ++round) {
        testing::WaitUntilBlocked(receiver.load());
        raise(SIGUSR1);
        while (received.load() < round) usleep(100);
      }
    });
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
    raise(SIGUSR1);  // Lets the parent's receiver go.
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Threads of this process named portsig-signals: its dispatcher.
int DispatcherCount() {
  int count = 0;
  for (const std::string& tid : testing::TaskIds()) {
    if (testing::ReadTaskFile(tid, "comm") == "portsig-signals\n") ++count;
  }
  return count;
}

// A context waits for the dispatcher without calling into a channel, so in
// a child forked from a parent that had started one, Notify must start it:
// the child gains a dispatcher, and the context fires. The signal comes from
// the parent process. Under TSan only the thread is checked: in a child
// forked from a multithreaded process TSan ran no handler for it.
TEST(ForkTest, AContextMadeInAForkedChildFires) {
  auto status = RunInChild([] {
    SignalChannel keep(1);
    ASSERT_TRUE(Notify(keep, {SIGUSR1}).ok());
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    testing::WaitForPortsigThreadsAsleep();
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child == 0) {
      alarm(60);  // Watchdog: a context that never fires dies of SIGALRM.
      // Threads are found by name in /proc: only with the Linux layer.
      const bool count = testing::LinuxLayer();
      if (count && DispatcherCount() != 0) _exit(6);
      auto context = NotifyContext({SIGUSR1});
      if (!context.ok()) _exit(2);
      if (count && DispatcherCount() != 1) _exit(5);
      const char made = 1;
      if (write(ready[1], &made, 1) != 1) _exit(3);
#ifndef PORTSIG_TSAN
      context->Wait();
      if (context->signal() != Signal(SIGUSR1)) _exit(4);
#endif
      _exit(0);
    }
    char made;
    ASSERT_EQ(read(ready[0], &made, 1), 1);
#ifndef PORTSIG_TSAN
    ASSERT_EQ(kill(child, SIGUSR1), 0);
#endif
    testing::ChildStatus ended;
    ASSERT_EQ(waitpid(child, &ended.raw, 0), child);
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// portsig's own threads block every signal but the faults, so a signal
// sent to the process is taken by a thread of the program: a host's handler
// never runs on portsig's thread, and a thread that sends its process a
// signal it does not block runs the handler before kill() returns. A fault
// on portsig's thread still reaches the host's crash handler. (The mask
// thread opens the signals a Notify names, while it names them, and keeps
// one open while its handler lingers if the stopping thread does not block
// it: blocked_signal_test. Here SIGUSR1 is stopped by a thread that blocks
// it, before the masks are read.)
TEST(ThreadsTest, PortsigThreadsBlockEverySignalButFaults) {
  PORTSIG_SKIP_UNLESS_LINUX_LAYER(
      "portsig's threads found by name and their masks in /proc");
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(ch.Receive(), Signal(SIGUSR1));  // The dispatcher runs.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, nullptr), 0);
    Stop(ch);  // SIGUSR1's restore is deferred: the restorer runs.
    // Asleep, so no thread is inside a section that blocks every signal
    // for a moment (the restorer's sigaction calls, the note backend's
    // lock).
    testing::WaitForPortsigThreadsAsleep();
    // Every signal but SIGKILL and SIGSTOP, which cannot be blocked, and
    // those the C library keeps for itself (below SIGRTMIN), which it does
    // not let a program block.
    uint64_t all = 0;
    uint64_t faults = 0;
    for (int s = 1; s <= 64; ++s) {
      if (s == SIGKILL || s == SIGSTOP || (s >= 32 && s < SIGRTMIN)) continue;
      const bool fault = s == SIGSEGV || s == SIGBUS || s == SIGFPE ||
                         s == SIGILL || s == SIGTRAP || s == SIGSYS;
      (fault ? faults : all) |= uint64_t{1} << (s - 1);
    }
    int portsig_threads = 0;
    for (const std::string& tid : testing::TaskIds()) {
      const std::string comm = testing::ReadTaskFile(tid, "comm");
      if (comm.rfind("portsig-", 0) != 0) continue;
      ++portsig_threads;
      const std::string status = testing::ReadTaskFile(tid, "status");
      const size_t at = status.find("SigBlk:\t");
      ASSERT_NE(at, std::string::npos) << status;
      const uint64_t blocked =
          std::strtoull(status.c_str() + at + 8, nullptr, 16);
      EXPECT_EQ(blocked & all, all)
          << comm << " leaves signals unblocked: " << std::hex
          << (all & ~blocked);
      EXPECT_EQ(blocked & faults, 0u)
          << comm << " blocks fault signals: " << std::hex
          << (blocked & faults);
    }
    EXPECT_GE(portsig_threads, 3)
        << "dispatcher, restorer and mask thread not found";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(NoteTest, PostNoteByBackend) {
  auto status = RunInChild([] {
    SignalChannel ch(2);
    ASSERT_TRUE(Notify(ch, {Signal::Note("reload"), SIGINT}).ok());
    // A standard name raises the signal on either backend.
    ASSERT_TRUE(PostNote("interrupt").ok());
    WaitForDispatch();
    EXPECT_EQ(ch.TryReceive(), Signal(SIGINT));
    absl::Status posted = PostNote("reload");
    if (Backend() == "posix") {
      EXPECT_EQ(posted.code(), absl::StatusCode::kFailedPrecondition);
    } else {
      ASSERT_TRUE(posted.ok()) << posted;
      WaitForDispatch();
      EXPECT_EQ(ch.TryReceive(), Signal::Note("reload"));
      EXPECT_EQ(PostNote("nobody-wants-this").code(),
                absl::StatusCode::kNotFound);
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(BackendTest, SelectedFromEnvironment) {
  auto status = RunInChild([] {
    auto backend = portsig::Backend();
    ASSERT_TRUE(backend.ok());
    EXPECT_EQ(*backend, Backend());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A typo in the environment never disables the library: the variable is
// ignored, Backend() names it, and Notify works on the build default.
TEST(BackendTest, UnknownBackendIsReportedAndIgnored) {
  auto status = RunInChild([] {
    setenv("PORTSIG_SIGQUEUE", "futex", 1);
    absl::StatusOr<std::string> backend = portsig::Backend();
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(backend.status().message()),
                HasSubstr("PORTSIG_SIGQUEUE=\"futex\""));
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
