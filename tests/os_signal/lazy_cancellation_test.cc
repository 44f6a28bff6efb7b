// Notify and Stop are no cancellation points (os_signal/signal.h), and hold
// cancellation off only from their first step that may reach one
// (HandlerMap's class comment): a Notify+Stop of a signal others also want
// reaches none and leaves the caller's cancellation state alone. Each test
// here has a thread with a cancellation pending take one slow step, where
// a test hook stands a cancellation point (pthread_testcancel) in for the
// real ones (a condition variable's wait, making a thread), so that the
// test does not depend on whether a given run blocks there. The call must
// return, the cancellation act after it, and the tables stay consistent:
// the signal still reaches whoever wants it and nobody else. Without the
// step's hold-off the thread ends inside the call, holding the handler
// map's lock: the "returned" flag stays false and the next call hangs
// until the child's watchdog ends it.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/unpoison_unwound_frames.h"

namespace portsig {
namespace {

using ::portsig::testing::UnpoisonUnwoundFrames;

using testing::RunInChild;

constexpr absl::Duration kPatience = absl::Seconds(20);

void CancellationPoint(int) { pthread_testcancel(); }

struct Call {
  std::function<void()> body;
  bool block_sigusr1 = false;
  std::atomic<bool> returned{false};
};

void* CallWithACancellationPending(void* arg) {
  UnpoisonUnwoundFrames unpoison;
  auto* call = static_cast<Call*>(arg);
  if (call->block_sigusr1) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
  }
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  call->body();
  call->returned.store(true);
  pthread_testcancel();  // Acts here, after the call.
  return nullptr;
}

// Runs `body` on a thread of its own with a cancellation pending; expects
// it to return and the cancellation to act after it.
void ExpectCompletesThenCancelled(std::function<void()> body,
                                  bool block_sigusr1 = false) {
  Call call;
  call.body = std::move(body);
  call.block_sigusr1 = block_sigusr1;
  pthread_t thread;
  ASSERT_EQ(
      pthread_create(&thread, nullptr, &CallWithACancellationPending, &call),
      0);
  void* result = nullptr;
  ASSERT_EQ(pthread_join(thread, &result), 0);
  EXPECT_EQ(result, PTHREAD_CANCELED);
  EXPECT_TRUE(call.returned.load()) << "cancelled inside the call";
}

// Portsig's runtime and dispatcher started, nothing subscribed: the first
// start (which holds cancellation off too) is out of the way.
void StartPortsig() {
  SignalChannel warm_up(1);
  ASSERT_TRUE(Notify(warm_up, {SIGUSR2}).ok());
  Stop(warm_up);
}

// The first subscriber installs the handler (runtime::Enable).
TEST(LazyCancellationTest, TheFirstSubscribersInstall) {
  auto status = RunInChild([] {
    alarm(30);
    StartPortsig();
    SignalChannel channel(1);
    test_hooks::disposition_changed.store(&CancellationPoint);
    ExpectCompletesThenCancelled(
        [&] { EXPECT_TRUE(Notify(channel, {SIGUSR1}).ok()); });
    test_hooks::disposition_changed.store(nullptr);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(channel.ReceiveFor(kPatience), Signal(SIGUSR1));
    Stop(channel);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The last subscriber's Stop, on a thread that blocks the signal, blocks
// it on the mask thread (runtime::Disable): a round trip to that thread.
TEST(LazyCancellationTest, TheLastSubscribersRestore) {
  auto status = RunInChild([] {
    alarm(30);
    StartPortsig();
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    test_hooks::mask_change_requested.store(&CancellationPoint);
    ExpectCompletesThenCancelled([&] { Stop(channel); },
                                 /*block_sigusr1=*/true);
    test_hooks::mask_change_requested.store(nullptr);
    SignalChannel next(1);
    ASSERT_TRUE(Notify(next, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(next.ReceiveFor(kPatience), Signal(SIGUSR1));
    EXPECT_FALSE(channel.TryReceive().has_value());
    Stop(next);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A subscriber of every signal names none: the first to name SIGUSR1
// opens it on the mask thread (OpenMask), and its Stop, the last name but
// not the last subscriber, closes it there (CloseMask).
TEST(LazyCancellationTest, NamingAndUnnamingOnTheMaskThread) {
  auto status = RunInChild([] {
    // Every signal goes to `every`, SIGALRM too: a watchdog of its own.
    std::thread([] {
      sleep(30);
      _exit(4);
    }).detach();
    StartPortsig();
    SignalChannel every(8);
    ASSERT_TRUE(Notify(every).ok());
    SignalChannel named(1);
    test_hooks::mask_change_requested.store(&CancellationPoint);
    ExpectCompletesThenCancelled(
        [&] { EXPECT_TRUE(Notify(named, {SIGUSR1}).ok()); });
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(named.ReceiveFor(kPatience), Signal(SIGUSR1));
    EXPECT_EQ(every.ReceiveFor(kPatience), Signal(SIGUSR1));
    ExpectCompletesThenCancelled([&] { Stop(named); });
    test_hooks::mask_change_requested.store(nullptr);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(every.ReceiveFor(kPatience), Signal(SIGUSR1));
    EXPECT_FALSE(named.TryReceive().has_value());
    Stop(every);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A signal raised inside Stop, once the channel is out of the map (under
// the map's lock, so it cannot be fanned out yet): Stop finds the runtime
// busy, parks the channel and waits for that delivery (the waiting half,
// where stop_between_phases fires), although another channel keeps the
// signal wanted.
void RaiseInsideStop(int) {
  test_hooks::stop_removed.store(nullptr);
  raise(SIGUSR1);
}

TEST(LazyCancellationTest, StopWaitingForADeliveryInFlight) {
  auto status = RunInChild([] {
    alarm(30);
    StartPortsig();
    SignalChannel stopped(1), other(1);
    ASSERT_TRUE(Notify(stopped, {SIGUSR1}).ok());
    ASSERT_TRUE(Notify(other, {SIGUSR1}).ok());
    test_hooks::stop_removed.store(&RaiseInsideStop);
    test_hooks::stop_between_phases.store(&CancellationPoint);
    ExpectCompletesThenCancelled([&] { Stop(stopped); });
    test_hooks::stop_between_phases.store(nullptr);
    test_hooks::stop_removed.store(nullptr);
    // Stop waited for the delivery: `other` has it already.
    EXPECT_EQ(other.size(), 1u);
    EXPECT_EQ(other.TryReceive(), Signal(SIGUSR1));
    // A signal that raced Stop may reach the parked channel too (Go's fix
    // for issue 14571); one sent after Stop returned may not.
    (void)stopped.TryReceive();
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(other.ReceiveFor(kPatience), Signal(SIGUSR1));
    EXPECT_FALSE(stopped.TryReceive().has_value());
    Stop(other);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// In a forked child of a process that had SIGUSR1 open on its mask thread,
// neither the dispatcher nor the mask thread exists: the child's first
// Notify starts them (EnsureDispatcher), though the signal is wanted
// already and named.
TEST(LazyCancellationTest, StartingThreadsInAForkedChild) {
  auto status = RunInChild([] {
    alarm(40);
    SignalChannel parents(1);
    ASSERT_TRUE(Notify(parents, {SIGUSR1}).ok());
    testing::WaitForPortsigThreadsAsleep();
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(30);
      SignalChannel childs(1);
      test_hooks::mask_change_requested.store(&CancellationPoint);
      ExpectCompletesThenCancelled(
          [&] { EXPECT_TRUE(Notify(childs, {SIGUSR1}).ok()); });
      test_hooks::mask_change_requested.store(nullptr);
      if (raise(SIGUSR1) != 0) _exit(2);
      EXPECT_EQ(childs.ReceiveFor(kPatience), Signal(SIGUSR1));
      EXPECT_EQ(parents.ReceiveFor(kPatience), Signal(SIGUSR1));
      _exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    ASSERT_GT(pid, 0);
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0) << raw;
    Stop(parents);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The common path: a signal others want, no queue mode, no notes, nothing
// in flight. It reaches no cancellation point, so it needs no hold-off,
// and takes none: under the map's lock (stop_removed) the caller's state
// is still in force. Hooks standing in for the slow steps' cancellation
// points are set too, in case a change makes this path take one.
std::atomic<int> g_state_in_stop{-1};

void RecordCancelState(int) {
  int state = -1;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
  int unused;
  pthread_setcancelstate(state, &unused);
  g_state_in_stop.store(state);
}

TEST(LazyCancellationTest, TheCommonPathHoldsNothingOff) {
  auto status = RunInChild([] {
    alarm(30);
    StartPortsig();
    SignalChannel other(1);
    ASSERT_TRUE(Notify(other, {SIGUSR1}).ok());
    SignalChannel churned(1);
    test_hooks::mask_change_requested.store(&CancellationPoint);
    test_hooks::disposition_changed.store(&CancellationPoint);
    test_hooks::stop_removed.store(&RecordCancelState);
    ExpectCompletesThenCancelled([&] {
      for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(Notify(churned, {SIGUSR1}).ok());
        Stop(churned);
      }
      EXPECT_TRUE(Notify(churned, {SIGUSR1}).ok());
    });
    test_hooks::stop_removed.store(nullptr);
    test_hooks::disposition_changed.store(nullptr);
    test_hooks::mask_change_requested.store(nullptr);
    EXPECT_EQ(g_state_in_stop.load(), PTHREAD_CANCEL_ENABLE);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(churned.ReceiveFor(kPatience), Signal(SIGUSR1));
    EXPECT_EQ(other.ReceiveFor(kPatience), Signal(SIGUSR1));
    Stop(churned);
    Stop(other);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
