// Stop takes a short path when the runtime is idle: it parks nothing and
// does not wait (os_signal/handler_map.cc, Remove; platform::SigQueue::Idle).
// These tests hold a signal in each place where the runtime is not idle,
// with another channel keeping the signal wanted (the churn case: Stop
// changes no disposition), and require that Stop still waits for it and
// the stopped channel gets it before Stop returns, and nothing after:
// - a sender paused inside portsig's handler after it read `wanted`, before
//   it queued anything (only the count of senders shows it);
// - the dispatcher, which took the signal from the queue and is about to
//   fan it out (only the receive role shows it);
// - a receiver sleeping on the queue that a sender woke for the signal and
//   that has not taken the receive role yet (one hop: the sender is done
//   and nobody holds the role; only the queue shows it);
// - that receiver once it has taken the signal and is about to fan it out
//   (only the receive role shows it);
// - each of these again in a child forked while the parent's Stop waited
//   for a held sender: the child starts from what the fork reset of the
//   parent's busy queue (its counters must be exact, neither the parent's
//   sender nor a lost one of its own).
// A Stop that took the short path in any of these would return with the
// signal still to come, and the signal would reach only the other channel.
// Mutation-checked: dropping any one of Idle's three looks fails the cases
// that only it shows.
//
// The order is forced through test hooks, no timing: stop_between_phases
// fires in every Stop that took something, in either path, before it waits
// (or where it would have); the held thread is released only after it.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <optional>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

using testing::RunInChild;

enum class Held {
  kSenderCounted,     // after_wanted_check, on the sending thread.
  kDispatcherFanOut,  // before_fan_out, on the dispatcher.
  kSleeperWoken,      // receiver_woke, before the sleeper takes the role.
  kSleeperFanOut,     // before_fan_out, on the sleeper, holding the role.
};

std::atomic<bool> g_held{false};
std::atomic<bool> g_release{false};
std::atomic<bool> g_stop_reached_wait{false};
std::atomic<bool> g_receiver_sleeping{false};
std::atomic<bool> g_hold_armed{false};
std::atomic<bool> g_hold_left{false};

void ResetState() {
  test_hooks::after_wanted_check.store(nullptr);
  test_hooks::before_fan_out.store(nullptr);
  test_hooks::receiver_woke.store(nullptr);
  test_hooks::receiver_before_sleep.store(nullptr);
  test_hooks::stop_between_phases.store(nullptr);
  g_held.store(false);
  g_release.store(false);
  g_stop_reached_wait.store(false);
  g_receiver_sleeping.store(false);
  g_hold_armed.store(false);
  g_hold_left.store(false);
}

// Runs inside the signal handler (after_wanted_check) or on a receiving
// thread (before_fan_out, receiver_woke): only atomics. Holds the first
// SIGUSR1 (or wake-up, argument 0) after it is armed until released.
void Hold(int signo) {
  if (signo != SIGUSR1 && signo != 0) return;
  if (!g_hold_armed.exchange(false)) return;
  g_held.store(true);
  while (!g_release.load()) {
  }
  g_hold_left.store(true);
}

void StopReachedWait(int) { g_stop_reached_wait.store(true); }
void NoteReceiverSleeping(int) { g_receiver_sleeping.store(true); }

std::atomic<test_hooks::Hook>& HookFor(Held held) {
  switch (held) {
    case Held::kSenderCounted:
      return test_hooks::after_wanted_check;
    case Held::kSleeperWoken:
      return test_hooks::receiver_woke;
    case Held::kDispatcherFanOut:
    case Held::kSleeperFanOut:
      break;
  }
  return test_hooks::before_fan_out;
}

// Holds a SIGUSR1 where `held` says, runs Stop(c) on another thread, and
// releases the signal once Stop is waiting (or has returned). Then c must
// have had the signal before Stop returned, and nothing after. `during`,
// if given, runs while Stop waits (or after it returned) with the signal
// still held.
void StopWaitsForTheHeldSignal(Held held,
                               const std::function<void()>& during = {}) {
  ResetState();
  SignalChannel keep(8);  // Keeps SIGUSR1 wanted after Stop(c).
  ASSERT_TRUE(Notify(keep, {SIGUSR1}).ok());
  SignalChannel c(8);
  ASSERT_TRUE(Notify(c, {SIGUSR1}).ok());

  const bool one_hop =
      held == Held::kSleeperWoken || held == Held::kSleeperFanOut;
  std::optional<Signal> got;
  std::thread receiver;
  if (one_hop) {
    test_hooks::receiver_before_sleep.store(&NoteReceiverSleeping);
    receiver = std::thread([&] { got = keep.ReceiveFor(absl::Seconds(30)); });
    while (!g_receiver_sleeping.load()) sched_yield();
  }
  // The dispatcher asleep, so that the signal goes where `held` says (a
  // dispatcher still awake from Notify could take it first and deliver it
  // before Stop looks, and the case would test nothing).
  testing::WaitForPortsigThreadsAsleep();
  HookFor(held).store(&Hold);
  g_hold_armed.store(true);
  std::thread sender([] { raise(SIGUSR1); });
  while (!g_held.load()) sched_yield();

  test_hooks::stop_between_phases.store(&StopReachedWait);
  std::atomic<bool> stop_returned{false};
  std::atomic<uint64_t> delivered_at_return{0};
  std::thread stopper([&] {
    Stop(c);
    delivered_at_return.store(c.delivered());
    stop_returned.store(true);
  });
  while (!stop_returned.load() && !g_stop_reached_wait.load()) sched_yield();
  if (during) during();
  g_release.store(true);
  // Out of the hook before anything is reset: a Stop that (wrongly) did
  // not wait for the held thread does not keep it from leaving.
  while (!g_hold_left.load()) sched_yield();
  sender.join();
  stopper.join();
  if (one_hop) receiver.join();
  ResetState();
  EXPECT_EQ(delivered_at_return.load(), 1u)
      << "Stop returned before the signal that raced it reached the channel";
  EXPECT_EQ(c.delivered(), delivered_at_return.load())
      << "a signal reached the channel after Stop returned";
  if (one_hop) {
    EXPECT_EQ(got, Signal(SIGUSR1));
  } else {
    EXPECT_EQ(keep.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
  }
}

TEST(IdleStopTest, WaitsForASenderInsideTheHandler) {
  auto status =
      RunInChild([] { StopWaitsForTheHeldSignal(Held::kSenderCounted); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(IdleStopTest, WaitsForTheDispatcherAboutToFanOut) {
  auto status =
      RunInChild([] { StopWaitsForTheHeldSignal(Held::kDispatcherFanOut); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// One hop: the sender queued the signal, woke a receiver sleeping on the
// queue (not the dispatcher) and returned; the receiver has not taken the
// role yet. The signal is only queued.
TEST(IdleStopTest, WaitsForASignalQueuedForASleepingReceiver) {
  auto status =
      RunInChild([] { StopWaitsForTheHeldSignal(Held::kSleeperWoken); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// One hop, a step later: the woken receiver took the signal from the
// queue and is about to fan it out.
TEST(IdleStopTest, WaitsForASleepingReceiverAboutToFanOut) {
  auto status =
      RunInChild([] { StopWaitsForTheHeldSignal(Held::kSleeperFanOut); });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A fork while the parent's Stop waits for a sender held in the handler
// (counted, nothing queued). The child has neither that sender nor the
// parent's Stop: a Stop there has nothing to wait for and returns, and a
// signal the child's own runtime holds in each place is still waited for.
TEST(IdleStopTest, AChildForkedDuringTheRaceStartsExact) {
#ifdef __SANITIZE_THREAD__
  // As blocked_signal_test's fork cases: the child's races need the
  // handler, and its threads may be given a dead parent thread's id.
  GTEST_SKIP() << "TSan runs no handler in a child of a threaded process";
#endif
  auto status = RunInChild([] {
    StopWaitsForTheHeldSignal(Held::kSenderCounted, [] {
      auto child = RunInChild([] {
        ResetState();
        SignalChannel d(8);
        ASSERT_TRUE(Notify(d, {SIGUSR1}).ok());
        Stop(d);  // Would wait for ever for the parent's sender.
        EXPECT_EQ(d.delivered(), 0u);
        for (Held held : {Held::kSenderCounted, Held::kDispatcherFanOut,
                          Held::kSleeperWoken, Held::kSleeperFanOut}) {
          StopWaitsForTheHeldSignal(held);
        }
      });
      EXPECT_TRUE(child.exited_ok()) << child.ToString();
    });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
