// Stop of a channel that another thread's Ignore still has parked on the
// stopping list must not return while a signal committed before the Ignore
// can still be delivered into it (the caller may free the channel next).
//
// A sender is paused inside portsig's handler after it read `wanted`
// (test hook), so Ignore parks the channel and waits for it. Stop(c) then
// runs on another thread; when it returns we record c.delivered(), release
// the sender, let everything finish, and require that nothing reached c
// after Stop returned.
#include <signal.h>
#include <unistd.h>

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

// Runs inside the signal handler: only atomics.
void PauseSender(int) {
  g_sender_paused.store(true);
  while (!g_release_sender.load()) {
  }
}

TEST(ParkedStopTest, StopWaitsForAnotherThreadsParkedDelivery) {
  auto status = testing::RunInChild([] {
    SignalChannel c(1);
    ASSERT_TRUE(Notify(c, {SIGUSR1}).ok());
    test_hooks::after_wanted_check.store(&PauseSender);
    std::thread sender([] { raise(SIGUSR1); });
    while (!g_sender_paused.load()) {
    }
    test_hooks::after_wanted_check.store(nullptr);

    // Parks c and waits for the paused sender.
    std::thread ignorer([] { ASSERT_TRUE(Ignore({SIGUSR1}).ok()); });

    std::atomic<bool> stop_returned{false};
    std::atomic<uint64_t> delivered_at_return{0};
    std::thread stopper([&] {
      // Let Ignore park c first: it holds the map lock while it does.
      usleep(50 * 1000);
      Stop(c);
      delivered_at_return.store(c.delivered());
      stop_returned.store(true);
    });
    // A broken Stop returns at once; a correct one waits for the sender.
    for (int i = 0; i < 200 && !stop_returned.load(); ++i) usleep(1000);
    g_release_sender.store(true);
    sender.join();
    ignorer.join();
    stopper.join();
    EXPECT_EQ(c.delivered(), delivered_at_return.load())
        << "a signal reached the channel after Stop returned";
    EXPECT_EQ(c.delivered(), 1u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
