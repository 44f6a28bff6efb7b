// Options::spin_before_sleep through the public API. The targets set
// PORTSIG_SPIN_BEFORE_SLEEP=2ms, so the budget starts from the environment.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

using ::portsig::testing::RunInChild;

absl::Duration SpinBeforeSleep() { return *CurrentOptions().spin_before_sleep; }

absl::Status SetSpinBeforeSleep(absl::Duration spin) {
  Options options;
  options.spin_before_sleep = spin;
  return Configure(options);
}

bool BlockedHere(int signo) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, signo) == 1;
}

// pthread_sigmask(how) of `signo` alone, on the calling thread.
void MaskHere(int how, int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  pthread_sigmask(how, &set, nullptr);
}

TEST(SpinTest, TheEnvironmentSetsTheBudget) {
  EXPECT_EQ(SpinBeforeSleep(), absl::Milliseconds(2));
}

TEST(SpinTest, BadBudgetsAreRefusedAndChangeNothing) {
  absl::Status negative = SetSpinBeforeSleep(absl::Microseconds(-5));
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.message().find("-5us"), absl::string_view::npos)
      << negative;
  absl::Status big = SetSpinBeforeSleep(absl::Seconds(1));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("1s"), absl::string_view::npos) << big;
  EXPECT_EQ(SpinBeforeSleep(), absl::Milliseconds(2));
}

// A receiver that is still spinning counts as blocked in Receive, so an
// unbuffered channel hands it the signal instead of dropping it. The
// spin_started hook, on the receiver's thread only, sends the signal and
// waits until the dispatcher has offered it to the channel before the spin
// looks.
thread_local bool t_is_receiver = false;
SignalChannel* g_unbuffered = nullptr;
void SendWhileSpinning(int) {
  if (!t_is_receiver) return;
  t_is_receiver = false;  // Once.
  kill(getpid(), SIGUSR1);
  while (g_unbuffered->delivered() + g_unbuffered->dropped() == 0) {
    usleep(100);
  }
}

TEST(SpinTest, ASpinningReceiverTakesAnUnbufferedDelivery) {
  auto status = RunInChild([] {
    SignalChannel ch(0);
    g_unbuffered = &ch;
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    // The signal must land on the dispatcher or the main thread, not on
    // the receiver, which is busy in the hook.
    test_hooks::spin_started.store(&SendWhileSpinning);
    std::optional<Signal> got;
    std::thread receiver([&] {
      MaskHere(SIG_BLOCK, SIGUSR1);
      t_is_receiver = true;
      got = ch.ReceiveFor(absl::Seconds(10));
    });
    receiver.join();
    test_hooks::spin_started.store(nullptr);
    EXPECT_EQ(ch.dropped(), 0u);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A deadline shorter than the budget ends the spin: ReceiveFor gives up.
TEST(SpinTest, ReceiveForGivesUpWithinTheSpin) {
  SignalChannel ch(1);
  ASSERT_TRUE(Notify(ch, {SIGUSR2}).ok());
  ASSERT_TRUE(SetSpinBeforeSleep(absl::Milliseconds(10)).ok());
  EXPECT_FALSE(ch.ReceiveFor(absl::Microseconds(100)).has_value());
  ASSERT_TRUE(SetSpinBeforeSleep(absl::Milliseconds(2)).ok());
  Stop(ch);
}

// While it spins, a receiver blocks the signals portsig takes (so that the
// kernel hands a kill() of the process to a thread it need not interrupt:
// runtime/spin_mask.h); afterwards its mask is as it was, and one it had
// blocked itself stays blocked. The spin_ended hook looks at the mask while
// the spin's mask is still in place; no signal comes during the spin, so
// the budget ends it.
std::atomic<int> g_spin_ends{0};
std::atomic<bool> g_usr1_blocked_at_spin_end{false};
void RecordMaskAtSpinEnd(int delivered) {
  if (!t_is_receiver || delivered != 0) return;
  g_usr1_blocked_at_spin_end.store(BlockedHere(SIGUSR1));
  g_spin_ends.fetch_add(1);
}

TEST(SpinTest, ASpinningReceiverBlocksTheSignalsAndPutsItsMaskBack) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}).ok());
    test_hooks::spin_ended.store(&RecordMaskAtSpinEnd);
    std::optional<Signal> got;
    bool usr1_blocked_after = true;
    bool usr2_blocked_after = false;
    std::thread receiver([&] {
      MaskHere(SIG_BLOCK, SIGUSR2);
      t_is_receiver = true;
      got = ch.ReceiveFor(absl::Seconds(10));
      t_is_receiver = false;
      usr1_blocked_after = BlockedHere(SIGUSR1);
      usr2_blocked_after = BlockedHere(SIGUSR2);
    });
    // The spin ended by its budget; the receiver sleeps or is about to.
    while (g_spin_ends.load() == 0) usleep(100);
    kill(getpid(), SIGUSR1);
    receiver.join();
    test_hooks::spin_ended.store(nullptr);
    EXPECT_TRUE(g_usr1_blocked_at_spin_end.load());
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, Signal(SIGUSR1));
    EXPECT_FALSE(usr1_blocked_after);
    EXPECT_TRUE(usr2_blocked_after);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A signal the spinning receiver blocked that nobody else can take (sent
// to the process while every other thread blocks it, or sent to the
// receiver's own thread) is not held back until the spin ends: the next
// look unblocks it, and the spin ends with the delivery. The hook sends it
// on the receiver's thread once the spin's mask is in place.
std::atomic<int> g_spin_end_delivered{-1};
void RecordSpinEnd(int delivered) {
  if (t_is_receiver) g_spin_end_delivered.store(delivered);
}
void KillProcessOnce(int) {
  if (!t_is_receiver) return;
  test_hooks::spin_mask_blocked.store(nullptr);
  kill(getpid(), SIGUSR1);
}
void KillThisThreadOnce(int) {
  if (!t_is_receiver) return;
  test_hooks::spin_mask_blocked.store(nullptr);
  pthread_kill(pthread_self(), SIGUSR1);
}

void ExpectTakenWithinTheSpin(void (*send)(int)) {
  auto status = RunInChild([send] {
    // Every thread but the receiver blocks SIGUSR1: the main thread here,
    // portsig's own threads always. The receiver subscribes to every signal
    // rather than naming SIGUSR1, which would open it on portsig's mask
    // thread (runtime/mask_thread.h), which would then take it.
    MaskHere(SIG_BLOCK, SIGUSR1);
    ASSERT_TRUE(SetSpinBeforeSleep(absl::Milliseconds(10)).ok());
    SignalChannel ch(1);
    std::optional<Signal> got;
    std::thread receiver([&] {
      MaskHere(SIG_UNBLOCK, SIGUSR1);
      ASSERT_TRUE(Notify(ch, {}).ok());
      test_hooks::spin_ended.store(&RecordSpinEnd);
      test_hooks::spin_mask_blocked.store(send);
      t_is_receiver = true;
      got = ch.ReceiveFor(absl::Seconds(10));
      t_is_receiver = false;
      EXPECT_FALSE(BlockedHere(SIGUSR1));
    });
    receiver.join();
    test_hooks::spin_ended.store(nullptr);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, Signal(SIGUSR1));
    EXPECT_EQ(g_spin_end_delivered.load(), 1)
        << "the signal waited for the spin's end";
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(SpinTest, ASignalOnlyTheSpinnerCanTakeIsTakenWithinTheSpin) {
  ExpectTakenWithinTheSpin(&KillProcessOnce);
}

TEST(SpinTest, ASignalSentToTheSpinningThreadIsTakenWithinTheSpin) {
  ExpectTakenWithinTheSpin(&KillThisThreadOnce);
}

// A signal whose last subscriber Stops while a receiver spins stays
// blocked on the spinner (its mask was made when the signal was wanted).
// Sent then, while every other thread blocks it, it reaches the disposition
// Stop put back (the host's handler) within the spin, not at its end: the
// next look finds it pending and unblocks. The spin_mask_blocked hook holds
// the spinner, its mask in place, while the main thread Stops and sends;
// spin_ended looks whether the host's handler ran.
std::atomic<bool> g_spinner_held{false};
std::atomic<bool> g_spinner_go{false};
std::atomic<int> g_host_handled{0};
std::atomic<int> g_host_handled_at_spin_end{-1};
void HoldSpinnerOnce(int) {
  if (!t_is_receiver) return;
  test_hooks::spin_mask_blocked.store(nullptr);
  g_spinner_held.store(true);
  while (!g_spinner_go.load()) usleep(100);
}
void HostHandler(int) { g_host_handled.fetch_add(1); }
void RecordHostHandledAtSpinEnd(int) {
  if (t_is_receiver) g_host_handled_at_spin_end.store(g_host_handled.load());
}

TEST(SpinTest, ASignalStoppedWhileTheReceiverSpinsReachesTheHostWithinTheSpin) {
  auto status = RunInChild([] {
    struct sigaction host {};
    host.sa_handler = &HostHandler;
    ASSERT_EQ(sigaction(SIGUSR1, &host, nullptr), 0);
    MaskHere(SIG_BLOCK, SIGUSR1);
    ASSERT_TRUE(SetSpinBeforeSleep(absl::Milliseconds(10)).ok());
    // Every signal, so that SIGUSR1 is not opened on portsig's mask thread.
    SignalChannel every(1);
    ASSERT_TRUE(Notify(every, {}).ok());
    SignalChannel usr2(1);
    ASSERT_TRUE(Notify(usr2, {SIGUSR2}).ok());
    test_hooks::spin_ended.store(&RecordHostHandledAtSpinEnd);
    test_hooks::spin_mask_blocked.store(&HoldSpinnerOnce);
    std::thread receiver([&] {
      MaskHere(SIG_UNBLOCK, SIGUSR1);
      t_is_receiver = true;
      (void)usr2.ReceiveFor(absl::Milliseconds(20));
      t_is_receiver = false;
      EXPECT_FALSE(BlockedHere(SIGUSR1));
    });
    while (!g_spinner_held.load()) usleep(100);
    Stop(every);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);  // Only the spinner may take it.
    g_spinner_go.store(true);
    receiver.join();
    test_hooks::spin_ended.store(nullptr);
    EXPECT_EQ(g_host_handled.load(), 1);
    EXPECT_EQ(g_host_handled_at_spin_end.load(), 1)
        << "the signal waited for the spin's end";
    Stop(usr2);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// fork() while another thread spins in Receive (its poller registered, its
// mask in place): the child has neither, so the sender of a signal its
// sleeping receiver waits for wakes that receiver (receiver_picked). With
// the parent's poller still counted, the posix backend's sender would wake
// nobody and leave the signal to the dispatcher's 10ms poller watchdog. The
// child spins not at all; the signal is raised as its receiver is about to
// sleep.
std::atomic<int> g_picked{0};
void RecordPicked(int signo) { g_picked.store(signo); }
void RaiseBeforeSleepOnce(int) {
  test_hooks::receiver_before_sleep.store(nullptr);
  raise(SIGUSR1);
}

TEST(SpinTest, AChildForkedWhileAReceiverSpinsWakesItsOwnReceiver) {
  auto status = RunInChild([] {
    ASSERT_TRUE(SetSpinBeforeSleep(absl::Milliseconds(10)).ok());
    SignalChannel usr2(1);
    ASSERT_TRUE(Notify(usr2, {SIGUSR2}).ok());
    test_hooks::spin_mask_blocked.store(&HoldSpinnerOnce);
    // Detached, not joined: TSan aborts a forked child that starts a thread
    // on the stack of a joinable thread the parent had at fork ("dup
    // thread with used id", as in harness_regression_test).
    static std::atomic<bool> receiver_done{false};
    std::thread([&usr2] {
      t_is_receiver = true;
      (void)usr2.ReceiveFor(absl::Milliseconds(20));
      t_is_receiver = false;
      receiver_done.store(true);
    }).detach();
    while (!g_spinner_held.load()) usleep(100);
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(30);
      if (!SetSpinBeforeSleep(absl::ZeroDuration()).ok()) _exit(2);
      SignalChannel mine(1);
      if (!Notify(mine, {SIGUSR1}).ok()) _exit(3);
      test_hooks::receiver_picked.store(&RecordPicked);
      test_hooks::receiver_before_sleep.store(&RaiseBeforeSleepOnce);
      const std::optional<Signal> got = mine.ReceiveFor(absl::Seconds(20));
      if (got != Signal(SIGUSR1)) _exit(4);
      _exit(g_picked.load() == SIGUSR1 ? 0 : 5);
    }
    ASSERT_GT(pid, 0);
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0) << raw;
    g_spinner_go.store(true);
    while (!receiver_done.load()) usleep(100);
    Stop(usr2);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
