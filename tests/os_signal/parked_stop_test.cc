// Stop of a channel that another thread's Ignore still has parked on the
// stopping list must not return while a signal committed before the Ignore
// can still be delivered into it (the caller may free the channel next).
//
// A sender is paused inside portsig's handler after it read `wanted`
// (test hook), so Ignore parks the channel and waits for it. Stop(c) then
// runs on another thread; when it returns we record c.delivered(), release
// the sender, let everything finish, and require that nothing reached c
// after Stop returned.
//
// The order is forced through stop_between_phases, which fires in every
// Stop, Reset and Ignore once it has parked what it took and before it
// waits: Stop starts only after Ignore's has fired (so c is parked by
// Ignore, never by Stop itself), and the sender is released only once Stop
// has returned or its own has fired (it is waiting then). A Stop that does
// not cover the earlier parking finds nothing of its own to wait for and
// returns with the signal still to come.
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

std::atomic<bool> g_sender_paused{false};
std::atomic<bool> g_release_sender{false};
// Calls of stop_between_phases: Ignore's, then (if it waits) Stop's.
std::atomic<int> g_waits_begun{0};

void CountWait(int) { g_waits_begun.fetch_add(1); }

// Runs inside the signal handler: only atomics.
void PauseSender(int) {
  g_sender_paused.store(true);
  while (!g_release_sender.load()) {
  }
}

// With `shared`, c also wants SIGUSR2, which another channel wants too:
// what c still wants after the Ignore is then what the handler map's fast
// Stop (TakeSharedSignalsFastLocked) could take. That Stop must wait as
// the general one does (it runs only when nothing is parked, and like the
// general one parks and waits when the runtime is not idle); a fast Stop
// that returned at once fails here.
void StopWaitsForAnotherThreadsParkedDelivery(bool shared) {
  auto status = testing::RunInChild([shared] {
    SignalChannel c(1), other(1);
    if (shared) {
      ASSERT_TRUE(Notify(other, {SIGUSR2}).ok());
      ASSERT_TRUE(Notify(c, {SIGUSR1, SIGUSR2}).ok());
    } else {
      ASSERT_TRUE(Notify(c, {SIGUSR1}).ok());
    }
    test_hooks::after_wanted_check.store(&PauseSender);
    std::thread sender([] { raise(SIGUSR1); });
    while (!g_sender_paused.load()) {
    }
    test_hooks::after_wanted_check.store(nullptr);

    // Parks c and waits for the paused sender.
    test_hooks::stop_between_phases.store(&CountWait);
    std::thread ignorer([] { ASSERT_TRUE(Ignore({SIGUSR1}).ok()); });
    while (g_waits_begun.load() < 1) sched_yield();

    std::atomic<bool> stop_returned{false};
    std::atomic<uint64_t> delivered_at_return{0};
    std::thread stopper([&] {
      Stop(c);
      delivered_at_return.store(c.delivered());
      stop_returned.store(true);
    });
    // A broken Stop returns; a correct one waits for the sender.
    while (!stop_returned.load() && g_waits_begun.load() < 2) sched_yield();
    g_release_sender.store(true);
    sender.join();
    ignorer.join();
    stopper.join();
    test_hooks::stop_between_phases.store(nullptr);
    EXPECT_EQ(c.delivered(), delivered_at_return.load())
        << "a signal reached the channel after Stop returned";
    EXPECT_EQ(c.delivered(), 1u);
    Stop(other);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ParkedStopTest, StopWaitsForAnotherThreadsParkedDelivery) {
  StopWaitsForAnotherThreadsParkedDelivery(/*shared=*/false);
}

TEST(ParkedStopTest, StopOfASharedSignalWaitsForAnotherThreadsParkedDelivery) {
  StopWaitsForAnotherThreadsParkedDelivery(/*shared=*/true);
}

}  // namespace
}  // namespace portsig
