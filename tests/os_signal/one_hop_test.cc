// One hop from handler to receiver (platform/sigqueue.h, sleeping
// receivers): a thread blocked in Receive sleeps on the signal queue
// itself, and the handler hands the signal to it rather than to the
// dispatcher, whichever thread the kernel runs the handler on. The
// receiver_picked hook counts the hand-offs to a sleeping receiver.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <optional>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/linux_layer.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

using testing::RunInChild;

std::atomic<int> g_picked{0};
std::atomic<bool> g_sleeping{false};
void CountPick(int) { g_picked.fetch_add(1); }
void NoteSleeping(int) { g_sleeping.store(true); }

struct Receiver {
  SignalChannel* channel;
  bool block_signal;
  std::optional<Signal> got;
};

void* ReceiveOnce(void* arg) {
  auto* receiver = static_cast<Receiver*>(arg);
  if (receiver->block_signal) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
  }
  receiver->got = receiver->channel->ReceiveFor(absl::Seconds(30));
  return nullptr;
}

// Runs a receiver on its own thread, waits until it sleeps on the queue,
// and sends SIGUSR1 with `send`.
void ReceiveWhileSending(bool block_signal, void (*send)(pthread_t)) {
  g_picked.store(0);
  g_sleeping.store(false);
  SignalChannel channel(1);
  ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
  test_hooks::receiver_before_sleep.store(&NoteSleeping);
  test_hooks::receiver_picked.store(&CountPick);
  Receiver receiver{&channel, block_signal, std::nullopt};
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, &ReceiveOnce, &receiver), 0);
  while (!g_sleeping.load()) sched_yield();
  send(thread);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  test_hooks::receiver_picked.store(nullptr);
  test_hooks::receiver_before_sleep.store(nullptr);
  EXPECT_EQ(receiver.got, Signal(SIGUSR1));
  // Mutation: without the senders' look for a sleeping receiver, the
  // handler woke the dispatcher (0 hand-offs), which woke the receiver.
  EXPECT_EQ(g_picked.load(), 1);
}

// The kernel's usual choice for a process-directed signal when the
// receiving thread does not block it: the handler runs on the receiver
// while it sleeps. It hands the signal to that very thread.
TEST(OneHopTest, TheHandlerOnTheSleepingReceiverHandsItTheSignal) {
  auto status = RunInChild([] {
    alarm(60);
    ReceiveWhileSending(/*block_signal=*/false, [](pthread_t receiver) {
      ASSERT_EQ(pthread_kill(receiver, SIGUSR1), 0);
    });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The receiver blocks the signal, so the handler runs elsewhere (here on
// the sending thread): it wakes the receiver directly.
TEST(OneHopTest, TheHandlerElsewhereWakesTheSleepingReceiver) {
  auto status = RunInChild([] {
    alarm(60);
    ReceiveWhileSending(/*block_signal=*/true, [](pthread_t) {
      ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Stop of a channel whose receiver sleeps on the queue, with the signal
// raised inside Stop, where the handler hands it to that sleeping receiver:
// when Stop returns, the other subscriber has it. It is raised once the
// channel is out of the map and before Stop looks whether anything is in
// flight (stop_removed, under the map's lock), so the hand-off is in
// flight when Stop looks and Stop must wait for it. Raised later, where
// Stop waits (stop_between_phases), it may follow a Stop that found the
// runtime idle and waits for nothing; that is right, as signal.h promises
// the channel only the signals that arrived before its removal.
void RaiseInsideStop(int) {
  test_hooks::stop_removed.store(nullptr);
  raise(SIGUSR1);
}

TEST(OneHopTest, StopWhileTheReceiverSleepsLosesNothing) {
  auto status = RunInChild([] {
    alarm(60);
    g_picked.store(0);
    g_sleeping.store(false);
    SignalChannel stopped(1), other(1);
    ASSERT_TRUE(Notify(stopped, {SIGUSR1}).ok());
    ASSERT_TRUE(Notify(other, {SIGUSR1}).ok());
    test_hooks::receiver_before_sleep.store(&NoteSleeping);
    test_hooks::receiver_picked.store(&CountPick);
    Receiver receiver{&stopped, /*block_signal=*/true, std::nullopt};
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, nullptr, &ReceiveOnce, &receiver), 0);
    while (!g_sleeping.load()) sched_yield();
    test_hooks::stop_removed.store(&RaiseInsideStop);
    Stop(stopped);
    EXPECT_EQ(other.size(), 1u);
    EXPECT_EQ(g_picked.load(), 1);
    // The stopped channel's receiver got it (parked channels still take
    // what raced Stop) or times out; either way it leaves.
    ASSERT_EQ(pthread_join(thread, nullptr), 0);
    test_hooks::receiver_picked.store(nullptr);
    test_hooks::receiver_before_sleep.store(nullptr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The handler runs on a receiver blocked in an untimed Receive while it is
// inside its wait's system call (a real signal, not a hook's Send). On the
// Linux layer the handler only changes the state word, carrying no wake-up:
// the futex wait (timed even here, since 060359b) ends with EINTR as the
// handler returns; were it untimed, the kernel would restart it (portsig's
// SA_RESTART) and it would compare the word again and end. On the generic
// POSIX layer the pipe's byte ends the poll. Mutation (Linux): the wait on
// a word the handler does not change (a semaphore beside it, as before
// a2e3d74) with the own-thread wake-up still carrying nothing slept on
// until the watchdog.
std::atomic<pid_t> g_receiver_tid{0};
std::atomic<int> g_carried{0};
void CountCarried(int) { g_carried.fetch_add(1); }

void* ReceiveUntimed(void* arg) {
  g_receiver_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  auto* receiver = static_cast<Receiver*>(arg);
  receiver->got = receiver->channel->Receive();
  return nullptr;
}

TEST(OneHopTest, TheHandlerInsideAnUntimedWaitEndsItOnItsOwnThread) {
  auto status = RunInChild([] {
    alarm(60);
    g_picked.store(0);
    g_carried.store(0);
    g_sleeping.store(false);
    SignalChannel channel(1);
    ASSERT_TRUE(Notify(channel, {SIGUSR1}).ok());
    test_hooks::receiver_slot_looked.store(&NoteSleeping);
    test_hooks::receiver_picked.store(&CountPick);
    test_hooks::receiver_wake_carried.store(&CountCarried);
    Receiver receiver{&channel, /*block_signal=*/false, std::nullopt};
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, nullptr, &ReceiveUntimed, &receiver), 0);
    while (!g_sleeping.load()) sched_yield();
    testing::WaitUntilBlocked(g_receiver_tid.load());
    ASSERT_EQ(syscall(SYS_tgkill, getpid(), g_receiver_tid.load(), SIGUSR1), 0);
    ASSERT_EQ(pthread_join(thread, nullptr), 0);
    test_hooks::receiver_wake_carried.store(nullptr);
    test_hooks::receiver_picked.store(nullptr);
    test_hooks::receiver_slot_looked.store(nullptr);
    EXPECT_EQ(receiver.got, Signal(SIGUSR1));
    EXPECT_EQ(g_picked.load(), 1);
    EXPECT_EQ(g_carried.load(), testing::LinuxLayer() ? 0 : 1);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
