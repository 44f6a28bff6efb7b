// SignalChannel at its edges: capacities at the limit of size_t, receivers
// that are cancelled, and what an unbuffered channel promises (a signal is
// handed only to a receiver blocked at that moment, and only that receiver
// can take it). Each test runs in a forked child: it raises signals.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

using ::portsig::testing::RunInChild;
using ::portsig::testing::WaitUntilInFutex;

// Returns once every signal already raised has been fanned out: Stop of a
// registered channel waits for the runtime to go idle.
void WaitForDispatch() {
  SignalChannel barrier(1);
  ASSERT_TRUE(Notify(barrier, {SIGURG}).ok());
  Stop(barrier);
}

// A thread blocked in Receive on `ch`, started with pthread_create so that
// tests can cancel it. What it received, once it has, is in `got`.
struct Receiver {
  SignalChannel* ch = nullptr;
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  std::optional<Signal> got;
  pthread_t thread;

  static void* Run(void* arg) {
    auto* self = static_cast<Receiver*>(arg);
    self->tid = static_cast<pid_t>(syscall(SYS_gettid));
    self->got = self->ch->Receive();
    self->done = true;
    return nullptr;
  }
  // Starts the thread and returns once it is blocked in Receive.
  void Start(SignalChannel* channel) {
    ch = channel;
    ASSERT_EQ(pthread_create(&thread, nullptr, &Run, this), 0);
    while (tid.load() == 0) usleep(100);
    WaitUntilInFutex(tid.load());
  }
};

// capacity + receivers used to be computed in size_t: with SIZE_MAX and one
// receiver waiting it wrapped to 0, and the channel dropped every signal.
TEST(ChannelCapacityTest, MaximalCapacityHandsToAWaitingReceiver) {
  auto status = RunInChild([] {
    static SignalChannel ch(SIZE_MAX);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    static Receiver receiver;
    receiver.Start(&ch);
    ASSERT_EQ(raise(SIGUSR1), 0);
    WaitForDispatch();
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
      ASSERT_EQ(raise(signo), 0);
      WaitForDispatch();
    }
    EXPECT_EQ(ch.size(), 3u);
    EXPECT_EQ(ch.dropped(), 0u);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
