// When portsig cannot make a thread (no memory for its stack, a thread
// limit), no exception crosses its API: Notify and NotifyContext return
// ResourceExhausted naming the thread and change nothing; calls without a
// status (Receive, TryReceive, Stop, a channel's destructor) neither throw
// nor abort, and Stop still delivers a signal that raced it.
//
// Failure is injected the way a host could cause it: a default thread stack
// size (pthread_setattr_default_np) too large to map, which makes every
// pthread_create with default attributes fail. RLIMIT_NPROC would not do:
// the tests run as root, whom it does not bind.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace portsig {
namespace {

using ::portsig::testing::CurrentAction;
using ::portsig::testing::RunInChild;
using ::testing::HasSubstr;

void* DoNothing(void*) { return nullptr; }

// From now on no thread with default attributes can be made in this
// process. Checks that the injection took.
void FailThreadCreation() {
  pthread_attr_t huge;
  ASSERT_EQ(pthread_attr_init(&huge), 0);
  // 64 TiB where size_t is 64 bits, 3 GiB where it is 32: neither fits in
  // the address space left for a stack.
  const size_t impossible_stack = static_cast<size_t>(std::min<uint64_t>(
      uint64_t{1} << 46, std::numeric_limits<size_t>::max() / 4 * 3));
  ASSERT_EQ(pthread_attr_setstacksize(&huge, impossible_stack), 0);
  ASSERT_EQ(pthread_setattr_default_np(&huge), 0);
  pthread_attr_destroy(&huge);
  pthread_t thread;
  ASSERT_NE(pthread_create(&thread, nullptr, &DoNothing, nullptr), 0)
      << "a thread was made with a " << impossible_stack
      << "-byte stack: injection failed";
}

void AllowThreadCreation() {
  pthread_attr_t normal;
  ASSERT_EQ(pthread_attr_init(&normal), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&normal, size_t{8} << 20), 0);
  ASSERT_EQ(pthread_setattr_default_np(&normal), 0);
  pthread_attr_destroy(&normal);
}

bool IsDefault(int signo) {
  const struct sigaction now = CurrentAction(signo);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
}

// A first Notify that cannot start portsig's dispatcher: ResourceExhausted
// naming the thread, no handler installed, the channel not registered. Once
// threads can be made again, the same calls work.
TEST(ThreadFailureTest, NotifyReturnsResourceExhaustedAndChangesNothing) {
  auto status = RunInChild([] {
    FailThreadCreation();
    SignalChannel ch(1);
    absl::Status notified = Notify(ch, {SIGUSR1});
    EXPECT_EQ(notified.code(), absl::StatusCode::kResourceExhausted)
        << notified;
    EXPECT_THAT(std::string(notified.message()), HasSubstr("portsig-signals"));
    EXPECT_TRUE(IsDefault(SIGUSR1)) << "a failed Notify installed a handler";
    absl::Status all = Notify(ch);
    EXPECT_EQ(all.code(), absl::StatusCode::kResourceExhausted) << all;
    EXPECT_TRUE(IsDefault(SIGUSR2));
    EXPECT_TRUE(IsDefault(SIGTERM));
    auto context = NotifyContext({SIGUSR1});
    EXPECT_EQ(context.status().code(), absl::StatusCode::kResourceExhausted)
        << context.status();
    EXPECT_TRUE(IsDefault(SIGUSR1));
    Stop(ch);  // Not registered: a no-op.

    AllowThreadCreation();
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    auto later = NotifyContext({SIGUSR2});
    ASSERT_TRUE(later.ok()) << later.status();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A Notify naming a signal when the dispatcher runs but the mask thread
// (which opens named signals, for programs that block them everywhere)
// cannot be made: ResourceExhausted naming that thread, nothing installed,
// the channel not registered. Notify() for every signal needs no mask
// thread and works; once threads can be made, so does the named Notify.
TEST(ThreadFailureTest, NotifyReturnsResourceExhaustedWithoutTheMaskThread) {
  auto status = RunInChild([] {
    // Starts the dispatcher, and names no signal.
    SignalChannel notes(1);
    ASSERT_TRUE(Notify(notes, {Signal::Note("reload")}).ok());
    FailThreadCreation();
    SignalChannel ch(1);
    absl::Status notified = Notify(ch, {SIGUSR1, SIGUSR2});
    EXPECT_EQ(notified.code(), absl::StatusCode::kResourceExhausted)
        << notified;
    EXPECT_THAT(std::string(notified.message()), HasSubstr("portsig-mask"));
    EXPECT_TRUE(IsDefault(SIGUSR1)) << "a failed Notify installed a handler";
    EXPECT_TRUE(IsDefault(SIGUSR2));
    auto context = NotifyContext({SIGUSR1});
    EXPECT_EQ(context.status().code(), absl::StatusCode::kResourceExhausted)
        << context.status();
    ASSERT_TRUE(Notify(ch).ok());
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR2));
    Stop(ch);

    AllowThreadCreation();
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Runs `body` in a child forked from a process in which portsig runs, with
// thread creation failing in the child, where portsig must restart its
// dispatcher. Exits 0 if `body` recorded no failure.
testing::ChildStatus RunInForkedChildWithoutThreads(
    const std::function<void()>& body) {
  return testing::RunInChild([&body] {
    FailThreadCreation();
    body();
  });
}

// In a forked child where portsig's dispatcher cannot be restarted: the
// Status-returning calls that need it say so and change nothing; receiving
// works (the receiving thread delivers what is queued itself); Stop of an
// inherited channel delivers a signal raised before it; Reset needs no
// thread; destroying an inherited registered channel does not terminate.
TEST(ThreadFailureTest, AForkedChildWithoutThreadsNeitherThrowsNorAborts) {
  auto status = RunInChild([] {
    auto* inherited = new SignalChannel(4);
    ASSERT_TRUE(Notify(*inherited, {SIGUSR1, SIGUSR2}).ok());
    auto* doomed = new SignalChannel(1);
    ASSERT_TRUE(Notify(*doomed, {SIGUSR1}).ok());
    auto ended = RunInForkedChildWithoutThreads([&] {
      SignalChannel fresh(1);
      absl::Status notified = Notify(fresh, {SIGWINCH});
      EXPECT_EQ(notified.code(), absl::StatusCode::kResourceExhausted)
          << notified;
      EXPECT_THAT(std::string(notified.message()),
                  HasSubstr("portsig-signals"));
      EXPECT_TRUE(IsDefault(SIGWINCH));
      auto context = NotifyContext({SIGWINCH});
      EXPECT_EQ(context.status().code(), absl::StatusCode::kResourceExhausted)
          << context.status();
      auto fd = inherited->ReadyFd();
      EXPECT_EQ(fd.status().code(), absl::StatusCode::kResourceExhausted)
          << fd.status();

#ifndef PORTSIG_TSAN  // TSan runs no handler in such a child.
      // raise() runs portsig's handler before it returns: the signal is
      // queued, and the receiver delivers it itself.
      ASSERT_EQ(raise(SIGUSR1), 0);
      EXPECT_EQ(inherited->TryReceive(), Signal(SIGUSR1));
      ASSERT_EQ(raise(SIGUSR2), 0);
      EXPECT_EQ(inherited->ReceiveFor(absl::Seconds(30)), Signal(SIGUSR2));
      ASSERT_EQ(raise(SIGUSR1), 0);
      EXPECT_EQ(inherited->Receive(), Signal(SIGUSR1));
      // Stop's promise: a signal raised before Stop reaches the channel.
      ASSERT_EQ(raise(SIGUSR2), 0);
      Stop(*inherited);
      EXPECT_EQ(inherited->size(), 1u) << "Stop lost a signal raised before it";
      EXPECT_EQ(inherited->TryReceive(), Signal(SIGUSR2));
#else
      Stop(*inherited);
#endif
      EXPECT_TRUE(Reset({SIGUSR2}).ok());
      EXPECT_TRUE(Ignore({SIGHUP}).ok());
      EXPECT_TRUE(Ignored(SIGHUP));
      delete doomed;  // Registered, inherited: stops itself.
      EXPECT_TRUE(Reset().ok());
      EXPECT_TRUE(IsDefault(SIGUSR1));
    });
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
    Stop(*inherited);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A receiver blocked with no dispatcher gets a signal sent while it waits
// (it looks at the queue itself, periodically).
TEST(ThreadFailureTest, AWaitingReceiverWithoutADispatcherGetsItsSignal) {
#ifdef PORTSIG_TSAN
  GTEST_SKIP() << "TSan runs no handler in a child of a threaded process";
#endif
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    auto context = NotifyContext({SIGUSR2});
    ASSERT_TRUE(context.ok());
    int waiting[2];
    ASSERT_EQ(pipe(waiting), 0);
    testing::WaitForPortsigThreadsAsleep();
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child == 0) {
      alarm(60);
      FailThreadCreation();
      const char ready = 1;
      if (write(waiting[1], &ready, 1) != 1) _exit(2);
      if (ch.Receive() != Signal(SIGUSR1)) _exit(3);
      if (write(waiting[1], &ready, 1) != 1) _exit(2);
      if (!context->WaitFor(absl::Seconds(30))) _exit(4);
      if (context->signal() != Signal(SIGUSR2)) _exit(5);
      _exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    char ready;
    ASSERT_EQ(read(waiting[0], &ready, 1), 1);
    ASSERT_EQ(kill(child, SIGUSR1), 0);
    ASSERT_EQ(read(waiting[0], &ready, 1), 1);
    ASSERT_EQ(kill(child, SIGUSR2), 0);
    testing::ChildStatus ended;
    ASSERT_EQ(waitpid(child, &ended.raw, 0), child);
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Stop when the restorer cannot start restores at once instead of after
// the restore delay: nothing lingers for a thread that does not exist.
TEST(ThreadFailureTest, StopRestoresAtOnceWhenTheRestorerCannotStart) {
  auto status = RunInChild([] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    FailThreadCreation();
    Stop(ch);
    EXPECT_TRUE(IsDefault(SIGUSR1)) << "the restore waits for no thread";
    AllowThreadCreation();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
