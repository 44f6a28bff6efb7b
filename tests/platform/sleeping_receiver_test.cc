// Sleeping receivers (platform/sigqueue.h): a thread blocked until a
// delivery reaches it sleeps on the queue itself, and a sender wakes it
// instead of the dispatcher. Each race of the hand-off is made to happen
// with a test hook (platform/test_hooks.h); both backends.
//
// No dispatcher runs here: a signal that no sleeper takes stays queued
// until someone drains, which is what makes a lost hand-off visible.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "platform/os_name.h"
#include "platform/sigqueue.h"
#include "platform/test_hooks.h"
#include "platform/wakeup.h"

namespace portsig {
namespace platform {
namespace {

// Plain threads that call Send() must not be interruptible by a sending
// handler (sigqueue.h). pthread_cancel's signal cannot be blocked (glibc
// leaves it out), so cancellation still works.
void BlockAllSignals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

// What the hooks reach: the queue under test.
SigQueue* g_queue = nullptr;
std::atomic<int> g_delivered{0};

void CountDelivery(const QueuedSignal& received) {
  if (received.signo == SIGUSR1) g_delivered.fetch_add(1);
}

// A hook that sends SIGUSR1 the first time it runs.
std::atomic<bool> g_send_once{false};
void SendOnce(int) {
  if (g_send_once.exchange(false)) g_queue->Send(SIGUSR1);
}

class SleepingReceiverTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BlockAllSignals();
    auto queue = NewSigQueue(GetParam());
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_ = *std::move(queue);
    queue_->Enable(SIGUSR1);
    queue_->Enable(SIGUSR2);
    g_queue = queue_.get();
    g_delivered.store(0);
    g_send_once.store(true);
  }
  void TearDown() override {
    test_hooks::receiver_before_sleep.store(nullptr);
    test_hooks::receiver_woke.store(nullptr);
    test_hooks::receiver_leaving.store(nullptr);
    test_hooks::receiver_picked.store(nullptr);
    test_hooks::receiver_slot_looked.store(nullptr);
    test_hooks::receiver_wake_carried.store(nullptr);
    test_hooks::role_busy.store(nullptr);
    g_queue = nullptr;
  }

  // Sleeps once on the queue on this thread; whether a sender woke it.
  // `delivered_by_sleep_`: what Sleep itself delivered, before EndSleep.
  bool SleepOnce(const Deadline& deadline) {
    ReceiverSlot* slot = queue_->BeginSleep();
    const bool woken = queue_->Sleep(
        slot, &CountDelivery, [] { return false; }, deadline);
    delivered_by_sleep_ = g_delivered.load();
    queue_->EndSleep(slot, &CountDelivery);
    return woken;
  }

  int delivered_by_sleep_ = 0;
  std::unique_ptr<SigQueue> queue_;
};

// A sender that queues after the receiver's last look and before it sleeps
// must still wake it. Mutation: with the announcement made just before
// the sleep instead of before the looks (the classic lost wake-up), the
// sender found nobody asleep, the receiver slept to its deadline, and
// `woken` was false.
TEST_P(SleepingReceiverTest, ASignalBetweenTheLookAndTheSleepWakesTheReceiver) {
  test_hooks::receiver_before_sleep.store(&SendOnce);
  // The deadline only bounds a failing run: a sender that woke the slot
  // before the sleep makes it return at once, whatever the time.
  EXPECT_TRUE(SleepOnce(Deadline::In(absl::Seconds(10))));
  EXPECT_EQ(g_delivered.load(), 1);
}

// portsig's handler runs on the sleeping receiver's own thread (where the
// kernel usually runs it for a main thread blocked in Receive), after the
// receiver's last look at its state word and before its wait. The changed
// word alone must end that wait: on Linux no wake-up is carried (no system
// call); on the generic POSIX layer the pipe's byte is what ends the poll
// that follows, so one is. Mutations (Linux): the wait on a semaphore
// beside the word, as before, with the own-thread wake-up no longer
// carried, slept to its deadline (the EXPECT on Passed); WakeOwn carrying
// a wake-up anyway made the count 1.
std::atomic<int> g_carried{0};
void CountCarried(int) { g_carried.fetch_add(1); }
std::atomic<bool> g_looked{false};
std::atomic<bool> g_sent{false};
// Holds the receiver after its last look until the sender has sent, so the
// sender finds it announced whatever the timing (under TSan its wait is
// made in 10 ms slices, and one ending before the send would leave the
// signal to the next look).
void LookedThenWaitForTheSend(int) {
  g_looked.store(true);
  while (!g_sent.load()) absl::SleepFor(absl::Milliseconds(1));
}

TEST_P(SleepingReceiverTest, AHandlerOnTheSleepersOwnThreadEndsItsWaitAlone) {
  g_carried.store(0);
  test_hooks::receiver_slot_looked.store(&SendOnce);
  test_hooks::receiver_wake_carried.store(&CountCarried);
  // Bounds a failing run only: the wait either never begins or ends at
  // once.
  const Deadline deadline = Deadline::In(absl::Seconds(20));
  EXPECT_TRUE(SleepOnce(deadline));
  EXPECT_FALSE(deadline.Passed()) << "the wait ran to its deadline";
  EXPECT_EQ(delivered_by_sleep_, 1);
  const bool linux_layer = std::string(PlatformOs()) == "linux";
  EXPECT_EQ(g_carried.load(), linux_layer ? 0 : 1);
}

// A sender on another thread still carries its wake-up to the sleeper
// (only the handler on the sleeper's own thread may leave it to the state
// word). Mutation: Wake() carrying nothing on Linux, as WakeOwn() does,
// made the count 0.
TEST_P(SleepingReceiverTest, ASenderOnAnotherThreadCarriesItsWakeUp) {
  g_carried.store(0);
  test_hooks::receiver_wake_carried.store(&CountCarried);
  g_looked.store(false);
  g_sent.store(false);
  test_hooks::receiver_slot_looked.store(&LookedThenWaitForTheSend);
  std::thread sender([this] {
    BlockAllSignals();
    // Sends once the receiver has made its last look: a signal before it
    // would be taken at the look, with no wait to end.
    while (!g_looked.load()) absl::SleepFor(absl::Milliseconds(1));
    queue_->Send(SIGUSR1);
    g_sent.store(true);
  });
  const Deadline deadline = Deadline::In(absl::Seconds(20));
  EXPECT_TRUE(SleepOnce(deadline));
  sender.join();
  EXPECT_FALSE(deadline.Passed()) << "the wait ran to its deadline";
  EXPECT_EQ(delivered_by_sleep_, 1);
  EXPECT_EQ(g_carried.load(), 1);
}

// The receiver's deadline passes just as a sender picks it: the sender
// told nobody else, so the receiver must deliver before Sleep returns.
// Mutation: without Sleep's drain after withdrawing, Sleep delivered
// nothing (EndSleep did, later).
TEST_P(SleepingReceiverTest, AReceiverTimingOutAsASenderPicksItDelivers) {
  test_hooks::receiver_woke.store(&SendOnce);
  EXPECT_TRUE(SleepOnce(Deadline::In(absl::Milliseconds(1))));
  EXPECT_EQ(delivered_by_sleep_, 1);
}

// Cancelled in its sleep (pthread_cancel), the receiver leaves through
// EndSleep, where a sender picks it: it delivers as it unwinds.
// Mutation: without EndSleep's drain, nothing was delivered and SIGUSR1
// stayed queued.
struct CancelledSleeper {
  SigQueue* queue;
  ReceiverSlot* slot = nullptr;
  std::atomic<bool> sleeping{false};
};

void* SleepUntilCancelled(void* arg) {
  auto* sleeper = static_cast<CancelledSleeper*>(arg);
  BlockAllSignals();
  sleeper->slot = sleeper->queue->BeginSleep();
  struct Leave {
    CancelledSleeper* sleeper;
    ~Leave() { sleeper->queue->EndSleep(sleeper->slot, &CountDelivery); }
  } leave{sleeper};
  for (;;) {
    sleeper->queue->Sleep(
        sleeper->slot, &CountDelivery,
        [sleeper] {
          sleeper->sleeping.store(true);
          return false;
        },
        Deadline::Infinite());
  }
  return nullptr;
}

TEST_P(SleepingReceiverTest, AReceiverCancelledAsASenderPicksItDelivers) {
  test_hooks::receiver_leaving.store(&SendOnce);
  CancelledSleeper sleeper{queue_.get()};
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, &SleepUntilCancelled, &sleeper),
            0);
  while (!sleeper.sleeping.load()) YieldProcessor();
  ASSERT_EQ(pthread_cancel(thread), 0);
  void* result = nullptr;
  ASSERT_EQ(pthread_join(thread, &result), 0);
  EXPECT_EQ(result, PTHREAD_CANCELED);
  EXPECT_EQ(g_delivered.load(), 1);
}

// A picked receiver whose drain finds the role held by another thread (one
// that took its signals before this one was queued) waits for the role:
// the sender woke nobody else. Mutation: with Drain(wait=false) there,
// the receiver returned without delivering SIGUSR1.
std::atomic<bool> g_holder_inside{false};
std::atomic<bool> g_release_holder{false};
void HoldTheRole(const QueuedSignal& received) {
  if (received.signo == SIGUSR2) {
    g_holder_inside.store(true);
    while (!g_release_holder.load()) YieldProcessor();
  }
  CountDelivery(received);
}

void ReleaseHolder(int) { g_release_holder.store(true); }

TEST_P(SleepingReceiverTest, APickedReceiverWaitsForTheRole) {
  g_holder_inside.store(false);
  g_release_holder.store(false);
  ASSERT_EQ(queue_->Send(SIGUSR2), SendResult::kQueued);
  std::thread holder([this] {
    BlockAllSignals();
    queue_->Drain(&HoldTheRole, /*wait=*/true);
  });
  while (!g_holder_inside.load()) YieldProcessor();
  // The holder goes on only once the receiver waits for the role.
  test_hooks::role_busy.store(&ReleaseHolder);
  test_hooks::receiver_before_sleep.store(&SendOnce);
  EXPECT_TRUE(SleepOnce(Deadline::In(absl::Seconds(10))));
  EXPECT_EQ(g_delivered.load(), 1);
  g_release_holder.store(true);
  holder.join();
}

// fork() while a receiver sleeps: the child has no such thread, and a
// sender there must not hand its signal to it. Mutation: without the
// reset of the sleepers in ResetAfterFork, the child's sender handed its
// signal to the parent's receiver's slot (one pick, with nobody asleep in
// the child). The child makes no thread: TSan cannot follow threads made
// in the child of a process with threads.
std::atomic<int> g_picks{0};
void CountPick(int) { g_picks.fetch_add(1); }

int ChildReceivesFromItsOwnSleeper(SigQueue* queue) {
  queue->ResetAfterFork();
  test_hooks::receiver_picked.store(&CountPick);
  g_picks.store(0);
  g_delivered.store(0);
  // Nobody sleeps here: the sender picks no one.
  queue->Send(SIGUSR1);
  const int picks_without_sleeper = g_picks.load();
  queue->Drain(&CountDelivery, /*wait=*/true);
  // This thread sleeps; a sender between its look and its sleep wakes it.
  g_send_once.store(true);
  test_hooks::receiver_before_sleep.store(&SendOnce);
  ReceiverSlot* slot = queue->BeginSleep();
  const bool woken = queue->Sleep(
      slot, &CountDelivery, [] { return false; },
      Deadline::In(absl::Seconds(10)));
  queue->EndSleep(slot, &CountDelivery);
  return picks_without_sleeper == 0 && woken && g_delivered.load() == 2 ? 0 : 1;
}

int ForkAndWait(SigQueue* queue) {
  const pid_t child = fork();
  if (child == 0) _exit(ChildReceivesFromItsOwnSleeper(queue));
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

TEST_P(SleepingReceiverTest, ForkWhileAReceiverSleeps) {
  CancelledSleeper sleeper{queue_.get()};
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, &SleepUntilCancelled, &sleeper),
            0);
  while (!sleeper.sleeping.load()) YieldProcessor();
  const int status = ForkAndWait(queue_.get());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The parent's receiver is still there and still woken by a sender.
  ASSERT_EQ(queue_->Send(SIGUSR1), SendResult::kQueued);
  while (g_delivered.load() == 0) YieldProcessor();
  pthread_cancel(thread);
  pthread_join(thread, nullptr);
  EXPECT_EQ(g_delivered.load(), 1);
}

// fork() inside a sender, just after it woke a receiver: the child starts
// with no sleeper and its own receivers work; the parent's receiver
// delivers the signal.
std::atomic<int> g_fork_status{-1};
void ForkInsideThePick(int) {
  test_hooks::receiver_picked.store(nullptr);
  // From another thread, as a host's fork would be: this one is inside
  // the sender.
  std::thread([] { g_fork_status.store(ForkAndWait(g_queue)); }).join();
}

TEST_P(SleepingReceiverTest, ForkWhileASenderPicksAReceiver) {
  g_fork_status.store(-1);
  test_hooks::receiver_picked.store(&ForkInsideThePick);
  test_hooks::receiver_before_sleep.store(&SendOnce);
  EXPECT_TRUE(SleepOnce(Deadline::In(absl::Seconds(10))));
  EXPECT_EQ(g_delivered.load(), 1);
  const int status = g_fork_status.load();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// WaitUntilIdle (Stop's wait) racing a picked receiver that is still
// delivering: it returns only once the delivery is done. The receiver's
// delivery goes on only once WaitUntilIdle waits for the role (or has
// returned, which is the failure). Mutation: without WaitUntilIdle's wait
// for the role when the queue looks empty, it returned while the receiver
// held the signal undelivered.
std::atomic<bool> g_idle_returned{false};
std::atomic<bool> g_role_waited{false};
std::atomic<int> g_delivered_at_idle{-1};

void NoteRoleWaited(int) { g_role_waited.store(true); }

void DeliverOnceIdleWaits(const QueuedSignal& received) {
  while (!g_role_waited.load() && !g_idle_returned.load()) YieldProcessor();
  CountDelivery(received);
}

void WaitUntilIdleOnPick(int) {
  // On the sender, still inside Send: WaitUntilIdle waits for it too.
  test_hooks::receiver_picked.store(nullptr);
  std::thread([] {
    BlockAllSignals();
    g_queue->WaitUntilIdle(&CountDelivery);
    g_delivered_at_idle.store(g_delivered.load());
    g_idle_returned.store(true);
  }).detach();
}

TEST_P(SleepingReceiverTest, WaitUntilIdleDuringAPickLosesNothing) {
  g_idle_returned.store(false);
  g_role_waited.store(false);
  g_delivered_at_idle.store(-1);
  test_hooks::role_busy.store(&NoteRoleWaited);
  test_hooks::receiver_picked.store(&WaitUntilIdleOnPick);
  test_hooks::receiver_before_sleep.store(&SendOnce);
  ReceiverSlot* slot = queue_->BeginSleep();
  EXPECT_TRUE(queue_->Sleep(
      slot, &DeliverOnceIdleWaits, [] { return false; },
      Deadline::In(absl::Seconds(10))));
  queue_->EndSleep(slot, &CountDelivery);
  while (!g_idle_returned.load()) YieldProcessor();
  EXPECT_EQ(g_delivered_at_idle.load(), 1);
  EXPECT_EQ(g_delivered.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, SleepingReceiverTest,
                         ::testing::Values("posix", "note"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace platform
}  // namespace portsig
