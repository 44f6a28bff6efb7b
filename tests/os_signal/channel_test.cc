// SignalChannel at its edges: capacities at the limit of size_t, receivers
// that are cancelled, and what an unbuffered channel promises (a signal is
// handed only to a receiver blocked at that moment, and only that receiver
// can take it). Each test runs in a forked child: it raises signals.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <ostream>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispatch.h"
#include "tests/testing/proc_tasks.h"
#include "tests/testing/unpoison_unwound_frames.h"

namespace portsig {

// For gtest's messages (found by argument-dependent lookup).
void PrintTo(const Signal &signal, std::ostream *os) {
  *os << signal.ToString();
}

namespace {

using ::portsig::testing::UnpoisonUnwoundFrames;

using ::portsig::testing::RaiseAndDispatch;
using ::portsig::testing::RunInChild;
using ::portsig::testing::WaitUntilBlocked;

// Set in the receiver's thread to be held at the start of its spin (see
// HoldAsSpinStarts).
thread_local bool t_hold_as_spin_starts = false;

// A thread blocked in Receive (or ReceiveFor, with `timed`) on `ch`,
// started with pthread_create so that tests can cancel it. What it
// received, once it has, is in `got`.
struct Receiver {
  SignalChannel *ch = nullptr;
  bool timed = false;
  bool hold = false;
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  std::optional<Signal> got;
  pthread_t thread;

  static void *Run(void *arg) {
    UnpoisonUnwoundFrames unpoison;
    auto *self = static_cast<Receiver *>(arg);
    t_hold_as_spin_starts = self->hold;
    self->tid = static_cast<pid_t>(syscall(SYS_gettid));
    if (self->timed) {
      self->got = self->ch->ReceiveFor(absl::Hours(1));
    } else {
      self->got = self->ch->Receive();
    }
    self->done = true;
    return nullptr;
  }
  // Starts the thread and returns once it is blocked in Receive (parked in
  // futex(2) on the Linux layer, poll(2) on the generic one), or, with
  // `hold`, held as its spin starts.
  void Start(SignalChannel *channel);
  // pthread_cancel, then join: true if the thread ended cancelled.
  bool CancelAndJoin() {
    if (pthread_cancel(thread) != 0) return false;
    void *result = nullptr;
    return pthread_join(thread, &result) == 0 && result == PTHREAD_CANCELED;
  }
};

// The spin_started hook: holds a receiver whose thread asked for it
// (t_hold_as_spin_starts) where it is listed as blocked but not yet
// looking, in read(2), a cancellation point, until ReleaseHeld(). The
// dispatcher, which also passes here when it spins, is not held.
int g_hold_pipe[2] = {-1, -1};
std::atomic<int> g_held{0};
void HoldAsSpinStarts(int) {
  if (!t_hold_as_spin_starts) return;
  t_hold_as_spin_starts = false;
  g_held.fetch_add(1);
  char byte;
  while (read(g_hold_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
}
void ReleaseHeld() { ASSERT_EQ(write(g_hold_pipe[1], "x", 1), 1); }

// Spins before parking, with HoldAsSpinStarts installed.
void SpinAndHold() {
  ASSERT_EQ(pipe(g_hold_pipe), 0);
  Options options;
  options.spin_before_sleep = absl::Milliseconds(1);
  ASSERT_TRUE(Configure(options).ok());
  test_hooks::spin_started.store(&HoldAsSpinStarts);
}

// Not the default stack size: under TSan a thread made in a child of a
// threaded runner may otherwise be given a dead thread's cached stack
// ("dup thread with used id").
pthread_attr_t OwnStackSize() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{3} << 20);
  return attr;
}

void Receiver::Start(SignalChannel *channel) {
  ch = channel;
  const int held_before = g_held.load();
  pthread_attr_t attr = OwnStackSize();
  ASSERT_EQ(pthread_create(&thread, &attr, &Run, this), 0);
  pthread_attr_destroy(&attr);
  while (tid.load() == 0) usleep(100);
  if (hold) {
    while (g_held.load() == held_before) usleep(100);
  } else {
    WaitUntilBlocked(tid.load());
  }
}

// SpinAndHold, subscribes `ch` to SIGUSR1 and has `receiver` receive on
// it, held listed as blocked and not yet looking, then raises SIGUSR1: the
// channel hands it to that receiver, which has not returned it when this
// returns. (Configure's spin applies from the next wait, so SpinAndHold may
// come after `ch` was made.)
void HandToAHeldReceiver(SignalChannel &ch, Receiver &receiver) {
  ASSERT_NO_FATAL_FAILURE(SpinAndHold());
  ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
  receiver.hold = true;
  receiver.Start(&ch);
  RaiseAndDispatch(SIGUSR1);
}

// capacity + receivers used to be computed in size_t: with SIZE_MAX and one
// receiver waiting it wrapped to 0, and the channel dropped every signal.
TEST(ChannelCapacityTest, MaximalCapacityHandsToAWaitingReceiver) {
  auto status = RunInChild([] {
    static SignalChannel ch(SIZE_MAX);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    static Receiver receiver;
    receiver.Start(&ch);
    RaiseAndDispatch(SIGUSR1);
    EXPECT_EQ(ch.dropped(), 0u);
    ASSERT_EQ(ch.delivered(), 1u);  // Else the receiver waits for ever.
    ASSERT_EQ(pthread_join(receiver.thread, nullptr), 0);
    EXPECT_EQ(receiver.got, Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ChannelCapacityTest, MaximalCapacityBuffersWithoutReceivers) {
  auto status = RunInChild([] {
    SignalChannel ch(SIZE_MAX);
    EXPECT_EQ(ch.capacity(), SIZE_MAX);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2, SIGWINCH}).ok());
    for (int signo : {SIGUSR1, SIGUSR2, SIGWINCH}) {
      RaiseAndDispatch(signo);
    }
    EXPECT_EQ(ch.size(), 3u);
    EXPECT_EQ(ch.dropped(), 0u);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Issue 13, class 9. A receiver cancelled while blocked used to stay
// counted: the next signal, which no receiver waited for, was kept in the
// unbuffered channel (delivered, TryReceive returned it) instead of being
// dropped. Both forms of wait.
TEST(ChannelCancelTest, ACancelledReceiverIsNoLongerCounted) {
  for (bool timed : {false, true}) {
    SCOPED_TRACE(timed ? "ReceiveFor" : "Receive");
    auto status = RunInChild([timed] {
      SignalChannel ch(0);
      ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
      Receiver receiver;
      receiver.timed = timed;
      receiver.Start(&ch);
      ASSERT_TRUE(receiver.CancelAndJoin());
      RaiseAndDispatch(SIGUSR1);
      EXPECT_EQ(ch.delivered(), 0u);
      EXPECT_EQ(ch.dropped(), 1u);
      EXPECT_EQ(ch.TryReceive(), std::nullopt);
      EXPECT_EQ(ch.size(), 0u);
    });
    EXPECT_TRUE(status.exited_ok()) << status.ToString();
  }
}

// TryReceive with a cancellation pending, on a channel with a ready
// descriptor: it used to act in the read(2) that clears the descriptor,
// after the signal had left the buffer, and the signal was lost (neither
// returned nor counted as dropped). Now it acts after TryReceive returns.
std::optional<Signal> g_tried;
void *CancelSelfThenTryReceive(void *arg) {
  UnpoisonUnwoundFrames unpoison;
  auto *ch = static_cast<SignalChannel *>(arg);
  pthread_cancel(pthread_self());
  g_tried = ch->TryReceive();
  pthread_testcancel();
  return nullptr;
}

TEST(ChannelCancelTest, TryReceiveWithACancellationPendingLosesNothing) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_TRUE(ch.ReadyFd().ok());
    RaiseAndDispatch(SIGUSR1);
    ASSERT_EQ(ch.size(), 1u);
    pthread_attr_t attr = OwnStackSize();
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, &attr, &CancelSelfThenTryReceive, &ch),
              0);
    pthread_attr_destroy(&attr);
    void *result = nullptr;
    ASSERT_EQ(pthread_join(thread, &result), 0);
    EXPECT_EQ(result, PTHREAD_CANCELED);
    EXPECT_EQ(g_tried, Signal(SIGUSR1));
    EXPECT_EQ(ch.size(), 0u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Destroying a channel with a cancellation pending: the destructor's
// close(2) of the ready descriptor is a cancellation point, and unwinding
// out of a destructor (noexcept) called std::terminate.
void *CancelSelfThenDestroy(void *) {
  UnpoisonUnwoundFrames unpoison;
  {
    SignalChannel ch(1);
    if (!Notify(ch, {SIGUSR1}).ok() || !ch.ReadyFd().ok()) return nullptr;
    pthread_cancel(pthread_self());
  }
  pthread_testcancel();
  return nullptr;
}

TEST(ChannelCancelTest, DestroyingWithACancellationPendingDoesNotAbort) {
  auto status = RunInChild([] {
    pthread_attr_t attr = OwnStackSize();
    pthread_t thread;
    ASSERT_EQ(pthread_create(&thread, &attr, &CancelSelfThenDestroy, nullptr),
              0);
    pthread_attr_destroy(&attr);
    void *result = nullptr;
    ASSERT_EQ(pthread_join(thread, &result), 0);
    EXPECT_EQ(result, PTHREAD_CANCELED);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Issue 13, class 9. A delivery accepted for a blocked receiver is that
// receiver's: TryReceive on an unbuffered channel took it (8 to 19 of 300
// rounds) when it ran before the receiver woke. The hook holds the
// receiver, listed as blocked, while the signal is handed over and
// TryReceive looks.
TEST(UnbufferedHandOffTest, TryReceiveCannotTakeWhatAReceiverWasHanded) {
  auto status = RunInChild([] {
    SignalChannel ch(0);
    Receiver receiver;
    ASSERT_NO_FATAL_FAILURE(HandToAHeldReceiver(ch, receiver));
    EXPECT_EQ(ch.delivered(), 1u);
    const std::optional<Signal> stolen = ch.TryReceive();
    EXPECT_EQ(stolen, std::nullopt);
    EXPECT_EQ(ch.size(), 0u);
    ReleaseHeld();
    if (stolen.has_value()) {
      ASSERT_TRUE(receiver.CancelAndJoin());  // It would wait for ever.
      return;
    }
    ASSERT_EQ(pthread_join(receiver.thread, nullptr), 0);
    EXPECT_EQ(receiver.got, Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Issue 13, class 9. A receiver cancelled after a delivery was handed to
// it and before it returned it (glibc can act on a cancellation after a
// condition variable's wake-up; here the hook holds it in read(2)): with
// nobody else to take it, the delivery is dropped and counted, moving from
// delivered() to dropped(). It used to stay in the unbuffered channel.
TEST(UnbufferedHandOffTest, AHandOffWhoseReceiverIsCancelledIsDroppedCounted) {
  auto status = RunInChild([] {
    SignalChannel ch(0);
    Receiver receiver;
    ASSERT_NO_FATAL_FAILURE(HandToAHeldReceiver(ch, receiver));
    EXPECT_EQ(ch.delivered(), 1u);
    ASSERT_TRUE(receiver.CancelAndJoin());
    EXPECT_EQ(ch.delivered(), 0u);
    EXPECT_EQ(ch.dropped(), 1u);
    EXPECT_EQ(ch.dropped_occurrences(), 1u);
    EXPECT_EQ(ch.TryReceive(), std::nullopt);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// What a cancelled receiver was handed goes to the next blocked receiver,
// as if it had arrived now; with none, into the buffer if there is room.
// (Both held on main too, where every receiver took from the buffer.)
TEST(UnbufferedHandOffTest, AHandOffWhoseReceiverIsCancelledGoesToTheNextOne) {
  auto status = RunInChild([] {
    SpinAndHold();
    SignalChannel ch(0);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    Receiver first;
    first.hold = true;
    first.Start(&ch);
    Receiver second;
    second.Start(&ch);
    RaiseAndDispatch(SIGUSR1);
    ASSERT_TRUE(first.CancelAndJoin());
    ASSERT_EQ(pthread_join(second.thread, nullptr), 0);
    EXPECT_EQ(second.got, Signal(SIGUSR1));
    EXPECT_EQ(ch.delivered(), 1u);
    EXPECT_EQ(ch.dropped(), 0u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(UnbufferedHandOffTest, AHandOffWhoseReceiverIsCancelledIsBuffered) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    Receiver receiver;
    ASSERT_NO_FATAL_FAILURE(HandToAHeldReceiver(ch, receiver));
    ASSERT_TRUE(receiver.CancelAndJoin());
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    EXPECT_EQ(ch.delivered(), 1u);
    EXPECT_EQ(ch.dropped(), 0u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
