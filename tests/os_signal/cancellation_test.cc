// portsig's calls are not cancellation points (os_signal/signal.h): a
// cancellation pending for a thread that calls Stop acts after Stop has
// done all of its work. Inside, Stop waits, polls and writes ready
// descriptors, each a cancellation point; the stop_between_phases hook
// stands in for them with pthread_testcancel(), so the test does not
// depend on which one a given build reaches.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

using testing::RunInChild;

void CancellationPoint(int) { pthread_testcancel(); }

std::atomic<bool> g_stop_returned{false};

void* StopWithACancellationPending(void* channel) {
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  Stop(*static_cast<SignalChannel*>(channel));
  g_stop_returned.store(true);
  pthread_testcancel();  // Acts here, after Stop.
  return nullptr;
}

// Without the cancellation held off, the thread ended inside Stop: the flag
// stayed false, and the channel stayed parked in the stopping list.
TEST(CancellationTest, APendingCancellationActsAfterStopReturns) {
  auto status = RunInChild([] {
    alarm(30);
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    test_hooks::stop_between_phases.store(&CancellationPoint);
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, nullptr, &StopWithACancellationPending,
                             &channel),
              0);
    void* result = nullptr;
    ASSERT_EQ(pthread_join(thread, &result), 0);
    test_hooks::stop_between_phases.store(nullptr);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_TRUE(g_stop_returned.load()) << "cancelled inside Stop";
    // The library goes on: the same signal on another channel.
    SignalChannel next(1);
    ASSERT_TRUE(Notify(next, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(next.ReceiveFor(absl::Seconds(20)), Signal(SIGUSR1));
    EXPECT_FALSE(channel.TryReceive().has_value());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
