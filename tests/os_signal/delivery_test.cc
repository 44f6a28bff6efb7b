// Delivery metadata through the public API, on the backend PORTSIG_SIGQUEUE
// names: who sent a signal, how, its sigqueue value, and how many
// occurrences a delivery stands for. Signals are sent in forked children.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using ::portsig::testing::CurrentAction;
using ::portsig::testing::DescribeDifference;
using ::portsig::testing::RunInChild;
using ::testing::HasSubstr;

bool NoteBackend() {
  return std::string(std::getenv("PORTSIG_SIGQUEUE")) == "note";
}

// A real-time signal the tests queue with values.
int Realtime() { return SIGRTMIN + 3; }

void SetBlocked(int how, int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  pthread_sigmask(how, &set, nullptr);
}

// Queue mode with room for 8 occurrences.
NotifyOptions Queued() {
  NotifyOptions queued;
  queued.queue_capacity = 8;
  return queued;
}

// Blocks Realtime() in this thread (the one thread of the program), then
// subscribes `ch` to it, as SendBurstToTheMaskThread needs.
void NotifyRealtimeBlocked(SignalChannel& ch, const NotifyOptions& options) {
  SetBlocked(SIG_BLOCK, Realtime());
  ASSERT_TRUE(Notify(ch, {Realtime()}, options).ok());
}

void SendQueued(int signo, int value) {
  union sigval v;
  v.sival_int = value;
  ASSERT_EQ(sigqueue(getpid(), signo, v), 0);
}

TEST(DeliveryTest, SenderIsTheChildThatSent) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    pid_t sender = fork();
    if (sender == 0) {
      kill(getppid(), SIGUSR1);
      _exit(0);
    }
    ASSERT_EQ(waitpid(sender, nullptr, 0), sender);
    Delivery got = ch.ReceiveDelivery();
    EXPECT_EQ(got.signal, Signal(SIGUSR1));
    EXPECT_TRUE(got.has_sender());
    EXPECT_EQ(got.sender_pid, sender);
    EXPECT_EQ(got.sender_uid, getuid());
    EXPECT_EQ(got.code, SI_USER);
    EXPECT_EQ(got.CodeName(), "kill");
    EXPECT_FALSE(got.value.has_value());
    EXPECT_EQ(got.occurrences, 1u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, SigqueueValueAndCodeArrive) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
    SendQueued(SIGUSR2, 42);
    Delivery got = ch.ReceiveDelivery();
    EXPECT_EQ(got.code, SI_QUEUE);
    EXPECT_EQ(got.CodeName(), "sigqueue");
    EXPECT_EQ(got.sender_pid, getpid());
    ASSERT_TRUE(got.value.has_value());
    EXPECT_EQ(got.value->sival_int, 42);
    EXPECT_THAT(got.ToString(), HasSubstr("(sigqueue) value 42"));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, PlainReceiveStillReturnsTheSignal) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    raise(SIGUSR1);
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    raise(SIGUSR1);
    std::optional<Delivery> got;
    while (!(got = ch.TryReceiveDelivery()).has_value()) sched_yield();
    EXPECT_EQ(got->signal, Signal(SIGUSR1));
    EXPECT_EQ(got->code, SI_TKILL);  // raise() is tgkill on Linux.
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// How many times portsig's handler ran for Realtime(): the occurrences it
// saw, which the deliveries' counts must add up to. While g_hold is set,
// the run that counts holds the handler (a spin: async-signal-safe), so
// the kernel keeps what comes meanwhile queued for after it.
std::atomic<int> g_handler_runs{0};
std::atomic<bool> g_hold{false};
void CountHandlerRun(int signo) {
  if (signo != Realtime()) return;
  g_handler_runs.fetch_add(1);
  while (g_hold.load()) {
  }
}

#ifdef PORTSIG_TSAN
// TSan defers a caught signal and keeps one pending slot per signal number,
// so queued real-time occurrences reach portsig's handler merged.
constexpr bool kHandlerSeesEveryOccurrence = false;
#else
constexpr bool kHandlerSeesEveryOccurrence = true;
#endif

// Returns once portsig's mask thread has run the handler for every signal
// the kernel had queued for it: it changes its mask for a Notify naming
// another signal only after that (the kernel hands a thread what is
// pending for it before the thread runs its own code again).
void AwaitTheMaskThread() { testing::WaitForDispatch(SIGUSR2); }

// Sends `count` queued occurrences in a burst while every thread of the
// program blocks the signal, so that the handler runs for them back to
// back. The channel named the signal, so portsig's mask thread has it open
// (issue 13, class 3) and is the one thread that runs the handler: the
// first run holds until all are sent, and the kernel hands it the rest, in
// the order sent, as soon as it returns.
// The channel must already want Realtime(), and this thread (the only
// program thread) block it.
void SendBurstToTheMaskThread(int count) {
  test_hooks::handler_entered.store(&CountHandlerRun);
  g_hold = true;
  for (int i = 0; i < count; ++i) SendQueued(Realtime(), i);
  g_hold = false;
  AwaitTheMaskThread();
}

// The burst, then everything the channel received; its counts must add up
// to the handler's runs.
std::vector<Delivery> SendBurstNotified(SignalChannel& ch, int count) {
  SendBurstToTheMaskThread(count);
  std::vector<Delivery> got;
  uint64_t occurrences = 0;
  while (occurrences < static_cast<uint64_t>(g_handler_runs.load())) {
    got.push_back(ch.ReceiveDelivery());
    occurrences += got.back().occurrences;
  }
  Stop(ch);
  while (std::optional<Delivery> late = ch.TryReceiveDelivery()) {
    got.push_back(*late);
    occurrences += late->occurrences;
  }
  EXPECT_EQ(ch.dropped(), 0u);
  EXPECT_EQ(occurrences, static_cast<uint64_t>(g_handler_runs.load()));
  if (kHandlerSeesEveryOccurrence) {
    EXPECT_EQ(g_handler_runs.load(), count);
  }
  return got;
}

// Blocked before Notify, in the one thread of the program.
std::vector<Delivery> SendBurst(SignalChannel& ch, const NotifyOptions& options,
                                int count) {
  NotifyRealtimeBlocked(ch, options);
  return SendBurstNotified(ch, count);
}

TEST(DeliveryTest, CountsAddUpToTheOccurrencesTheKernelQueued) {
  auto status = RunInChild([] {
    SignalChannel ch(16);
    std::vector<Delivery> got = SendBurst(ch, NotifyOptions(), 5);
    // The note backend keeps each; posix may coalesce, keeping the latest.
    if (NoteBackend()) {
      EXPECT_EQ(got.size(), static_cast<size_t>(g_handler_runs.load()));
    } else {
      EXPECT_LE(got.size(), static_cast<size_t>(g_handler_runs.load()));
    }
    ASSERT_FALSE(got.empty());
    ASSERT_TRUE(got.back().value.has_value());
    if (kHandlerSeesEveryOccurrence) {
      EXPECT_EQ(got.back().value->sival_int, 4);
    }
    std::printf("coalescing: 5 sent, %d seen by the handler, %zu deliveries\n",
                g_handler_runs.load(), got.size());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, QueueModeDeliversEachOccurrenceInOrder) {
  auto status = RunInChild([] {
    SignalChannel ch(16);
    std::vector<Delivery> got = SendBurst(ch, Queued(), 5);
    ASSERT_EQ(got.size(), static_cast<size_t>(g_handler_runs.load()));
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(got[i].value.has_value());
      if (kHandlerSeesEveryOccurrence) {
        EXPECT_EQ(got[i].value->sival_int, static_cast<int>(i));
      } else if (i > 0) {
        EXPECT_GT(got[i].value->sival_int, got[i - 1].value->sival_int);
      }
      EXPECT_EQ(got[i].occurrences, 1u);
      EXPECT_EQ(got[i].sender_pid, getpid());
      EXPECT_EQ(got[i].code, SI_QUEUE);
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A Notify that fails part way (here: installing SIGUSR2's handler) leaves
// the queue mode an earlier Notify chose for a signal it also listed.
TEST(DeliveryTest, AFailedNotifyKeepsTheQueueModeItFound) {
  auto status = RunInChild([] {
    SignalChannel ch(16);
    ASSERT_NO_FATAL_FAILURE(NotifyRealtimeBlocked(ch, Queued()));
    test_hooks::fail_install_signo.store(SIGUSR2);
    EXPECT_FALSE(Notify(ch, {Realtime(), SIGUSR2}).ok());
    test_hooks::fail_install_signo.store(0);
    std::vector<Delivery> got = SendBurstNotified(ch, 5);
    // Still queued: one delivery per occurrence, none coalesced.
    ASSERT_EQ(got.size(), static_cast<size_t>(g_handler_runs.load()));
    for (const Delivery& d : got) EXPECT_EQ(d.occurrences, 1u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, AFullChannelCountsTheOccurrencesItDropped) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    test_hooks::handler_entered.store(&CountHandlerRun);
    ASSERT_NO_FATAL_FAILURE(NotifyRealtimeBlocked(ch, Queued()));
    SendBurstToTheMaskThread(5);
    Stop(ch);  // Everything the handler queued has been fanned out.
    std::optional<Delivery> kept = ch.TryReceiveDelivery();
    ASSERT_TRUE(kept.has_value());
    EXPECT_EQ(kept->occurrences + ch.dropped_occurrences(),
              static_cast<uint64_t>(g_handler_runs.load()));
    EXPECT_EQ(ch.dropped(), ch.dropped_occurrences());  // One each.
    if (kHandlerSeesEveryOccurrence) {
      EXPECT_EQ(ch.dropped(), 4u);
    }
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, BadQueueOptionsAreRefusedByNameAndChangeNothing) {
  auto status = RunInChild([] {
    const struct sigaction before = CurrentAction(SIGUSR1);
    SignalChannel ch(1);
    NotifyOptions queued;
    queued.queue_capacity = 4;
    absl::Status s = Notify(ch, {SIGUSR1}, queued);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("SIGUSR1"));
    s = Notify(ch, {}, queued);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    queued.queue_capacity = 5000;
    s = Notify(ch, {Realtime()}, queued);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("5000"));
    EXPECT_EQ(DescribeDifference(CurrentAction(SIGUSR1), before), "");
    auto context = NotifyContext({SIGUSR1}, NotifyOptions{false, 2});
    ASSERT_FALSE(context.ok());
    EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(DescribeDifference(CurrentAction(SIGUSR1), before), "");
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, TextNoteNamesThisProcessAsSender) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {Signal::Note("reload")}).ok());
    absl::Status posted = PostNote("reload");
    if (!NoteBackend()) {
      EXPECT_EQ(posted.code(), absl::StatusCode::kFailedPrecondition);
      return;
    }
    ASSERT_TRUE(posted.ok()) << posted;
    Delivery got = ch.ReceiveDelivery();
    EXPECT_EQ(got.signal, Signal::Note("reload"));
    EXPECT_EQ(got.CodeName(), "note");
    EXPECT_EQ(got.sender_pid, getpid());
    EXPECT_EQ(got.sender_uid, getuid());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(DeliveryTest, ToStringSaysWhoAndHowMany) {
  Delivery d;
  d.signal = SIGTERM;
  d.code = SI_USER;
  d.sender_pid = 42;
  d.sender_uid = 1000;
  d.occurrences = 3;
  EXPECT_EQ(d.ToString(), "SIGTERM from pid 42 uid 1000 (kill) x3");
  d.signal = SIGCHLD;
  d.code = CLD_EXITED;
  EXPECT_EQ(d.CodeName(), "exited");
  d.signal = SIGSEGV;
  d.code = SI_KERNEL;
  d.occurrences = 1;
  EXPECT_FALSE(d.has_sender());
  EXPECT_EQ(d.ToString(), "SIGSEGV (kernel)");
}

}  // namespace
}  // namespace portsig
