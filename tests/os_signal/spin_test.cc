// Options::spin_before_sleep through the public API. The targets set
// PORTSIG_SPIN_BEFORE_SLEEP=2ms, so the budget starts from the environment.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
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
      sigset_t usr1;
      sigemptyset(&usr1);
      sigaddset(&usr1, SIGUSR1);
      pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
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

}  // namespace
}  // namespace portsig
