// OneShotWakeup with and without a spin budget (platform/spin.h).
#include "platform/wakeup.h"

#include <atomic>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "platform/spin.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace platform {
namespace {

OneShotWakeup* g_wakeup = nullptr;
std::atomic<int> g_spins{0};
std::atomic<int> g_parks{0};
std::atomic<bool> g_wake_needed_syscall{false};

// Runs on the sleeping thread as its spin begins: the Wake() lands while
// it spins.
void WakeAsSpinStarts(int) {
  g_spins++;
  g_wake_needed_syscall = g_wakeup->Wake();
}
void CountPark(int) { g_parks++; }

class WakeupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_spins = 0;
    g_parks = 0;
    g_wakeup = &wakeup_;
    test_hooks::wakeup_parking.store(&CountPark);
  }
  void TearDown() override {
    test_hooks::spin_started.store(nullptr);
    test_hooks::wakeup_parking.store(nullptr);
    ASSERT_TRUE(SetSpinBeforeSleep(absl::ZeroDuration()).ok());
  }

  // Runs Sleep() on a thread; if it has not returned after a while (it
  // parked and nobody woke it), wakes it so the test fails instead of
  // hanging.
  void SleepOnAThread() {
    Notification returned;
    std::thread sleeper([&] {
      wakeup_.Sleep();
      returned.Notify();
    });
    if (!returned.WaitForNotificationWithTimeout(absl::Seconds(5))) {
      wakeup_.Wake();
    }
    sleeper.join();
  }

  // Runs Sleep() on a thread and wakes it once it has parked (or is about
  // to: a Wake before the futex wait is also fine, the state word catches
  // it).
  void SleepUntilParkedThenWake() {
    std::thread sleeper([&] { wakeup_.Sleep(); });
    while (g_parks.load() == 0) std::this_thread::yield();
    wakeup_.Wake();
    sleeper.join();
  }

  OneShotWakeup wakeup_;
};

TEST_F(WakeupTest, AWakeDuringTheSpinNeedsNoSystemCall) {
  ASSERT_TRUE(SetSpinBeforeSleep(kMaxSpinBeforeSleep).ok());
  test_hooks::spin_started.store(&WakeAsSpinStarts);
  SleepOnAThread();
  EXPECT_EQ(g_spins.load(), 1);
  EXPECT_EQ(g_parks.load(), 0);
  EXPECT_FALSE(g_wake_needed_syscall.load());
  EXPECT_TRUE(wakeup_.Woken());
}

TEST_F(WakeupTest, WithoutABudgetItParksAtOnce) {
  test_hooks::spin_started.store(&WakeAsSpinStarts);
  SleepUntilParkedThenWake();
  EXPECT_EQ(g_spins.load(), 0);
  EXPECT_EQ(g_parks.load(), 1);
}

TEST_F(WakeupTest, AnUnansweredSpinEndsInAPark) {
  ASSERT_TRUE(SetSpinBeforeSleep(absl::Microseconds(200)).ok());
  SleepUntilParkedThenWake();
  EXPECT_EQ(g_parks.load(), 1);
}

TEST(SpinBeforeSleepTest, RefusesNegativeAndOversizedBudgetsAndKeepsTheOldOne) {
  ASSERT_TRUE(SetSpinBeforeSleep(absl::Microseconds(50)).ok());
  absl::Status negative = SetSpinBeforeSleep(absl::Nanoseconds(-1));
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.message().find("-1ns"), absl::string_view::npos)
      << negative;
  absl::Status big = SetSpinBeforeSleep(absl::Milliseconds(11));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("11ms"), absl::string_view::npos) << big;
  EXPECT_EQ(SpinBeforeSleep(), absl::Microseconds(50));
  ASSERT_TRUE(SetSpinBeforeSleep(absl::ZeroDuration()).ok());
  EXPECT_EQ(SpinBeforeSleep(), absl::ZeroDuration());
}

}  // namespace
}  // namespace platform
}  // namespace portsig
