// portsig under the kernel's resource limits, set for real with setrlimit
// as a host program or its supervisor would: RLIMIT_NPROC (threads),
// RLIMIT_NOFILE (descriptors), RLIMIT_SIGPENDING (the kernel's queue of
// real-time signals) and a thread stack far below the default. What is
// promised (os_signal/signal.h): a call that needs a thread or a
// descriptor it cannot have returns ResourceExhausted and changes nothing,
// works once the limit is raised, and no signal the kernel accepted is lost
// without being counted.
//
// thread_failure_test.cc injects thread failure with an impossible default
// stack size; here the kernel refuses the thread. RLIMIT_NPROC does not bind
// root, so each test that sets it runs in a child that first becomes a user
// of its own (a uid no other process has, so the count is this child's
// threads alone, even with both backends' tests running at once). The
// child reports through its exit status and the gtest output it inherited.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"
#include "tests/testing/proc_tasks.h"
#include "tests/testing/readable.h"

namespace portsig {
namespace {

using ::portsig::testing::CurrentAction;
using ::portsig::testing::RunInChild;
using ::testing::HasSubstr;

bool IsDefault(int signo) {
  const struct sigaction now = CurrentAction(signo);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
}

sigset_t ThreadMask() {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return mask;
}

bool SameMask(const sigset_t& a, const sigset_t& b) {
  for (int signo = 1; signo < NSIG; ++signo) {
    if (sigismember(&a, signo) != sigismember(&b, signo)) return false;
  }
  return true;
}

#ifdef PORTSIG_TSAN
// TSan defers a caught signal and keeps one pending slot per signal number,
// so queued real-time occurrences reach portsig's handler merged.
constexpr bool kHandlerSeesEveryOccurrence = false;
#else
constexpr bool kHandlerSeesEveryOccurrence = true;
#endif

// Threads of this process now.
rlim_t OwnThreads() { return testing::TaskIds().size(); }

void* DoNothing(void*) { return nullptr; }

void* SayTid(void* tid) {
  static_cast<std::atomic<pid_t>*>(tid)->store(
      static_cast<pid_t>(syscall(SYS_gettid)));
  return nullptr;
}

// Makes and joins one thread, and returns once the kernel has let it go
// (its /proc entry is gone, after the kernel uncounted it). TSan starts a
// thread of its own at a process's first pthread_create (a forked child's
// too): made now, it is counted before a test sets a limit, and does not
// take the place the test leaves for one of portsig's.
void SettleThreads() {
  std::atomic<pid_t> tid{0};
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, nullptr, &SayTid, &tid), 0);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  const std::string gone = "/proc/self/task/" + std::to_string(tid.load());
  while (access(gone.c_str(), F_OK) == 0) usleep(100);
}

// Becomes a user no other process is (so RLIMIT_NPROC binds and counts
// this process's threads alone) and lets it have `threads` threads in all.
// The hard limit stays, so SetThreadLimit can raise the soft one again
// (the tests may run without CAP_SYS_RESOURCE, which raising it needs).
void BecomeUserWithThreadLimit(rlim_t threads) {
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NPROC, &limit), 0);
  if (threads != RLIM_INFINITY) {
    ASSERT_GE(limit.rlim_max, threads + 4) << "the hard limit leaves no room";
  }
  limit.rlim_cur = std::min(threads, limit.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NPROC, &limit), 0) << std::strerror(errno);
  // A uid no account has, one per process: pids are unique at a time.
  const uid_t id = 300000 + static_cast<uid_t>(getpid());
  ASSERT_EQ(setgroups(0, nullptr), 0) << std::strerror(errno);
  ASSERT_EQ(setgid(id), 0) << std::strerror(errno);
  ASSERT_EQ(setuid(id), 0) << std::strerror(errno);
}

// RLIM_INFINITY: as high as the hard limit allows.
void SetThreadLimit(rlim_t threads) {
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NPROC, &limit), 0);
  limit.rlim_cur = std::min(threads, limit.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NPROC, &limit), 0) << std::strerror(errno);
}

// Checks that the kernel refuses this process another thread now.
void ExpectNoThreadToSpare() {
  pthread_t thread;
  const int error = pthread_create(&thread, nullptr, &DoNothing, nullptr);
  ASSERT_EQ(error, EAGAIN) << "RLIMIT_NPROC did not bind: "
                           << std::strerror(error);
}

// ------------------------------------------------------------ RLIMIT_NPROC

// The limit at this process's thread count before portsig's first use:
// every call that needs portsig's dispatcher says so, naming it, and
// changes nothing (no handler, no mask, no fd, no queue mode left behind);
// once the limit is raised, the same calls work.
TEST(ResourceLimitTest, NoThreadToSpareAtFirstUseChangesNothing) {
  auto status = RunInChild([] {
    const sigset_t mask_before = ThreadMask();
    SettleThreads();
    const rlim_t threads_before = OwnThreads();
    BecomeUserWithThreadLimit(threads_before);
    ExpectNoThreadToSpare();

    SignalChannel ch(4);
    absl::Status named = Notify(ch, {SIGUSR1, SIGUSR2});
    EXPECT_EQ(named.code(), absl::StatusCode::kResourceExhausted) << named;
    EXPECT_THAT(std::string(named.message()), HasSubstr("portsig-signals"));
    absl::Status all = Notify(ch);
    EXPECT_EQ(all.code(), absl::StatusCode::kResourceExhausted) << all;
    NotifyOptions queued;
    queued.queue_capacity = 8;
    absl::Status rt = Notify(ch, {SIGRTMIN}, queued);
    EXPECT_EQ(rt.code(), absl::StatusCode::kResourceExhausted) << rt;
    auto context = NotifyContext({SIGUSR1});
    EXPECT_EQ(context.status().code(), absl::StatusCode::kResourceExhausted)
        << context.status();
    EXPECT_THAT(std::string(context.status().message()),
                HasSubstr("portsig-signals"));
    auto fd = ch.ReadyFd();
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kResourceExhausted)
        << fd.status();
    ChannelGroup group;
    ASSERT_TRUE(group.Add(&ch).ok());
    auto group_fd = group.ReadyFd();
    EXPECT_EQ(group_fd.status().code(), absl::StatusCode::kResourceExhausted)
        << group_fd.status();
    EXPECT_THAT(std::string(group_fd.status().message()),
                HasSubstr("portsig-signals"));

    for (int signo : {SIGUSR1, SIGUSR2, SIGTERM, SIGHUP, SIGRTMIN}) {
      EXPECT_TRUE(IsDefault(signo))
          << "a refused call left a handler for " << signo;
    }
    EXPECT_TRUE(SameMask(ThreadMask(), mask_before));
    EXPECT_EQ(OwnThreads(), threads_before);
    EXPECT_FALSE(Ignored(SIGUSR1));
    Stop(ch);  // Not registered: a no-op.

    // Raised: everything works, and the refused queue mode was not kept.
    SetThreadLimit(RLIM_INFINITY);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGRTMIN}).ok());
    auto ready = group.ReadyFd();
    ASSERT_TRUE(ready.ok()) << ready.status();
    ASSERT_EQ(raise(SIGUSR1), 0);
    testing::PollUntilReadable(*ready);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    // Without queue mode, two SIGRTMIN sent while blocked coalesce.
    sigset_t rt_only;
    sigemptyset(&rt_only);
    sigaddset(&rt_only, SIGRTMIN);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &rt_only, nullptr), 0);
    ASSERT_EQ(raise(SIGRTMIN), 0);
    ASSERT_EQ(raise(SIGRTMIN), 0);
    ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &rt_only, nullptr), 0);
    auto got = ch.ReceiveDeliveryFor(absl::Seconds(30));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->signal, Signal(SIGRTMIN));
    EXPECT_EQ(got->occurrences + ch.TryReceive().has_value(),
              kHandlerSeesEveryOccurrence ? 2u : 1u);
    auto context_later = NotifyContext({SIGUSR2});
    ASSERT_TRUE(context_later.ok()) << context_later.status();
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_TRUE(context_later->WaitFor(absl::Seconds(30)));
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The limit hit between portsig's threads: the dispatcher can be made, the
// mask thread cannot. A Notify naming signals fails naming portsig-mask and
// changes nothing; Notify() for every signal needs no mask thread and
// works. One thread more: the mask thread starts, the restorer cannot, and
// Stop restores at once instead of leaving a handler for no thread.
TEST(ResourceLimitTest, NoThreadToSpareBetweenPortsigsThreads) {
  auto status = RunInChild([] {
    const sigset_t mask_before = ThreadMask();
    SettleThreads();
    BecomeUserWithThreadLimit(OwnThreads() + 1);

    SignalChannel ch(4);
    absl::Status named = Notify(ch, {SIGUSR1, SIGUSR2});
    EXPECT_EQ(named.code(), absl::StatusCode::kResourceExhausted) << named;
    EXPECT_THAT(std::string(named.message()), HasSubstr("portsig-mask"));
    EXPECT_TRUE(IsDefault(SIGUSR1));
    EXPECT_TRUE(IsDefault(SIGUSR2));
    auto context = NotifyContext({SIGUSR1});
    EXPECT_EQ(context.status().code(), absl::StatusCode::kResourceExhausted)
        << context.status();
    EXPECT_TRUE(IsDefault(SIGUSR1));
    EXPECT_TRUE(SameMask(ThreadMask(), mask_before));
    ExpectNoThreadToSpare();

    // Every signal: the dispatcher is all it needs.
    ASSERT_TRUE(Notify(ch).ok());
    ASSERT_EQ(raise(SIGUSR2), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR2));
    // No restorer either: Stop restores every signal at once.
    Stop(ch);
    EXPECT_TRUE(IsDefault(SIGUSR2)) << "a restore waits for no thread";
    EXPECT_TRUE(IsDefault(SIGTERM));

    SetThreadLimit(OwnThreads() + 1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ExpectNoThreadToSpare();
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    Stop(ch);
    EXPECT_TRUE(IsDefault(SIGUSR1)) << "a restore waits for no thread";

    SetThreadLimit(RLIM_INFINITY);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A forked child whose thread limit leaves no room for portsig's threads:
// its inherited channel still gets a signal raised in it and one sent
// while it waits (the receiver looks at the queue itself), and the calls
// that need the dispatcher say so.
TEST(ResourceLimitTest, AChildWithNoThreadToSpareStillReceives) {
#ifdef PORTSIG_TSAN
  GTEST_SKIP() << "TSan runs no handler in a child of a threaded process";
#endif
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1, SIGUSR2}).ok());
    int waiting[2];
    ASSERT_EQ(pipe(waiting), 0);
    testing::WaitForPortsigThreadsAsleep();
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child == 0) {
      alarm(60);
      BecomeUserWithThreadLimit(OwnThreads());
      ExpectNoThreadToSpare();
      auto fd = ch.ReadyFd();
      EXPECT_EQ(fd.status().code(), absl::StatusCode::kResourceExhausted)
          << fd.status();
      SignalChannel fresh(1);
      absl::Status notified = Notify(fresh, {SIGWINCH});
      EXPECT_EQ(notified.code(), absl::StatusCode::kResourceExhausted)
          << notified;
      EXPECT_TRUE(IsDefault(SIGWINCH));
      if (raise(SIGUSR1) != 0) _exit(2);
      EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
      const char ready = 1;
      if (write(waiting[1], &ready, 1) != 1) _exit(2);
      EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR2));
      Stop(ch);
      std::fflush(nullptr);
      _exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    char ready;
    ASSERT_EQ(read(waiting[0], &ready, 1), 1);
    ASSERT_EQ(kill(child, SIGUSR2), 0);
    testing::ChildStatus ended;
    ASSERT_EQ(waitpid(child, &ended.raw, 0), child);
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// NotifyOptions::once at the thread limit: the release cannot hand its
// second half to a thread of its own (portsig-once), nor the restore to the
// restorer. The first SIGUSR1 still reaches the channel, and the second
// takes the default action, as with threads to spare: the process dies by
// it.
TEST(ResourceLimitTest, OnceWithNoThreadToSpare) {
  testing::CapturedChild child = testing::RunInChildCapturing([](int out) {
    SettleThreads();
    BecomeUserWithThreadLimit(RLIM_INFINITY);
    SignalChannel ch(1);
    NotifyOptions once;
    once.once = true;
    ASSERT_TRUE(Notify(ch, {SIGUSR1}, once).ok());
    SetThreadLimit(OwnThreads());
    ExpectNoThreadToSpare();
    ASSERT_EQ(raise(SIGUSR1), 0);
    ASSERT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    ASSERT_EQ(write(out, "first\n", 6), 6);
    ASSERT_EQ(raise(SIGUSR1), 0);
    ADD_FAILURE() << "the second SIGUSR1 did not end the process";
  });
  EXPECT_EQ(child.output, "first\n");
  EXPECT_TRUE(child.status.killed_by(SIGUSR1)) << child.status.ToString();
}

// ----------------------------------------------------------- RLIMIT_NOFILE

// Descriptors open in this process now (0..limit-1), without opening one.
int OpenDescriptors() {
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  int open = 0;
  for (rlim_t fd = 0; fd < limit.rlim_cur; ++fd) {
    if (fcntl(static_cast<int>(fd), F_GETFD) >= 0) ++open;
  }
  return open;
}

// Uses up every descriptor the limit allows; returns those it opened.
std::vector<int> UseEveryDescriptor() {
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = 256;  // Few, so filling them is quick.
  EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0) << std::strerror(errno);
  std::vector<int> taken;
  for (int fd; (fd = dup(STDERR_FILENO)) >= 0;) taken.push_back(fd);
  EXPECT_EQ(errno, EMFILE);
  return taken;
}

// Every descriptor in use: the ReadyFd calls return ResourceExhausted and
// open nothing; signals are still delivered; one descriptor freed (two on
// the generic POSIX layer, whose readiness descriptor is a pipe) and they
// work.
TEST(ResourceLimitTest, NoDescriptorToSpare) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    auto context = NotifyContext({SIGUSR2});
    ASSERT_TRUE(context.ok()) << context.status();
    ChannelGroup group;
    ASSERT_TRUE(group.Add(&ch).ok());

    std::vector<int> taken = UseEveryDescriptor();
    ASSERT_FALSE(taken.empty());
    const int open_before = OpenDescriptors();
    auto fd = ch.ReadyFd();
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kResourceExhausted)
        << fd.status();
    // No matcher while every descriptor is taken: UBSan's check of a
    // matcher's vptr needs a pipe to probe memory, and reports without one.
    EXPECT_NE(std::string(fd.status().message()).find("ReadyFd"),
              std::string::npos)
        << fd.status();
    auto group_fd = group.ReadyFd();
    EXPECT_EQ(group_fd.status().code(), absl::StatusCode::kResourceExhausted)
        << group_fd.status();
    auto context_fd = context->ReadyFd();
    EXPECT_EQ(context_fd.status().code(), absl::StatusCode::kResourceExhausted)
        << context_fd.status();
    EXPECT_EQ(OpenDescriptors(), open_before) << "a refused ReadyFd leaked";

    // Receiving needs no descriptor (on the generic POSIX layer a sleeper
    // without one looks again every millisecond).
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));

    close(taken.back());
    taken.pop_back();
    close(taken.back());
    taken.pop_back();
    auto now = ch.ReadyFd();
    ASSERT_TRUE(now.ok()) << now.status();
    ASSERT_EQ(raise(SIGUSR1), 0);
    testing::PollUntilReadable(*now);
    EXPECT_EQ(ch.TryReceive(), Signal(SIGUSR1));
    for (int fd : taken) close(fd);
    auto group_now = group.ReadyFd();
    ASSERT_TRUE(group_now.ok()) << group_now.status();
    auto context_now = context->ReadyFd();
    ASSERT_TRUE(context_now.ok()) << context_now.status();
    ASSERT_EQ(raise(SIGUSR2), 0);
    testing::PollUntilReadable(*context_now);
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A receiver that sleeps while every descriptor is in use is woken by a
// signal another process sends and another thread takes (the generic POSIX
// layer's sleepers have no wake-up pipe then, and look every millisecond).
TEST(ResourceLimitTest, ASleeperWithNoDescriptorToSpareIsWoken) {
  auto status = RunInChild([] {
    SignalChannel ch(4);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    testing::WaitForPortsigThreadsAsleep();
    std::fflush(nullptr);
    const pid_t sender = fork();
    if (sender == 0) {
      char byte;
      if (read(go[0], &byte, 1) != 1) _exit(2);
      // Until the receiver (the parent) sleeps; the watchdog bounds it.
      usleep(100 * 1000);
      _exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 3);
    }
    // Taken on another thread (portsig's mask thread), so only the
    // delivery, not the handler's interruption, can end this one's sleep.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, nullptr), 0);
    std::vector<int> taken = UseEveryDescriptor();
    const char byte = 1;
    ASSERT_EQ(write(go[1], &byte, 1), 1);
    // No deadline, which would end a sleep nothing woke: a receiver never
    // woken is ended by RunInChild's watchdog.
    EXPECT_EQ(ch.Receive(), Signal(SIGUSR1));
    for (int fd : taken) close(fd);
    testing::ChildStatus ended;
    ASSERT_EQ(waitpid(sender, &ended.raw, 0), sender);
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// ------------------------------------------------------- RLIMIT_SIGPENDING

// Real-time signals in queue mode, sent with sigqueue() from another
// process while the kernel may queue at most `pending` of them for this
// one: the sender sees EAGAIN for those the kernel refused, and every one
// it accepted reaches the channel (as a Delivery of its own or counted in
// one's occurrences) or is counted as dropped. Nothing else. The receiver
// is a user of its own: the kernel counts pending signals per user.
void EveryAcceptedSigqueueIsCounted(rlim_t pending, size_t capacity) {
  if (!kHandlerSeesEveryOccurrence) {
    GTEST_SKIP() << "TSan merges queued occurrences of a signal before "
                    "portsig's handler sees them";
  }
  auto status = RunInChild([pending, capacity] {
    const int signo = SIGRTMIN + 1;
    BecomeUserWithThreadLimit(RLIM_INFINITY);
    SignalChannel ch(capacity);
    NotifyOptions queued;
    queued.queue_capacity = 4;
    ASSERT_TRUE(Notify(ch, {Signal(signo)}, queued).ok());
    const struct rlimit limit = {pending, pending};
    ASSERT_EQ(setrlimit(RLIMIT_SIGPENDING, &limit), 0);
    int report[2];
    ASSERT_EQ(pipe(report), 0);
    testing::WaitForPortsigThreadsAsleep();
    std::fflush(nullptr);
    const pid_t sender = fork();
    if (sender == 0) {
      uint32_t accepted[2] = {0, 0};  // Accepted, refused.
      for (int i = 0; i < 5000; ++i) {
        sigval value;
        value.sival_int = i;
        if (sigqueue(getppid(), signo, value) == 0) {
          ++accepted[0];
        } else if (errno == EAGAIN) {
          ++accepted[1];
        } else {
          _exit(3);
        }
      }
      _exit(write(report[1], accepted, sizeof(accepted)) == sizeof(accepted)
                ? 0
                : 2);
    }
    uint32_t accepted[2];
    ASSERT_EQ(read(report[0], accepted, sizeof(accepted)),
              static_cast<ssize_t>(sizeof(accepted)));
    uint64_t counted = 0;
    while (counted + ch.dropped_occurrences() < accepted[0]) {
      auto got = ch.ReceiveDeliveryFor(absl::Seconds(30));
      ASSERT_TRUE(got.has_value())
          << "accepted " << accepted[0] << ", counted " << counted
          << ", dropped " << ch.dropped_occurrences();
      EXPECT_EQ(got->signal, Signal(signo));
      counted += got->occurrences;
    }
    EXPECT_EQ(counted + ch.dropped_occurrences(), accepted[0]);
    // Nothing more comes.
    EXPECT_FALSE(ch.TryReceive().has_value());
    if (pending == 0) {
      EXPECT_EQ(accepted[0], 0u);
    }
    // The limit bound: some were refused.
    EXPECT_GT(accepted[1], 0u);
    testing::ChildStatus ended;
    ASSERT_EQ(waitpid(sender, &ended.raw, 0), sender);
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
    Stop(ch);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ResourceLimitTest, NoPendingSignalsAllowed) {
  EveryAcceptedSigqueueIsCounted(0, 64);
}

TEST(ResourceLimitTest, OnePendingSignalAllowed) {
  EveryAcceptedSigqueueIsCounted(1, 64);
}

TEST(ResourceLimitTest, OnePendingSignalAllowedIntoAFullChannel) {
  EveryAcceptedSigqueueIsCounted(1, 1);
}

TEST(ResourceLimitTest, FewPendingSignalsAllowedIntoAFullChannel) {
  EveryAcceptedSigqueueIsCounted(8, 1);
}

// A real-time signal that reaches portsig's handler lingering after Stop
// takes its default action there: the handler puts SIG_DFL back and sends
// the signal again to its thread. With no room in the kernel's queue
// (RLIMIT_SIGPENDING 0, or the user's quota used up by queued signals),
// the kernel refuses a real-time signal sent with tgkill (EAGAIN), as it
// does one sent with sigqueue; it accepts one sent with kill(2), without
// its siginfo. The process must still end by the signal, as it would with
// no portsig, not by an abort.
TEST(ResourceLimitTest, ARealTimeDefaultActionWithNoRoomInTheKernelsQueue) {
  const int rt = SIGRTMIN + 3;
  auto status = RunInChild([rt] {
    SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {Signal(rt)}).ok());
    // The handler lingers until the end of the child.
    test_hooks::hold_deferred_restores.store(true);
    Stop(ch);
    ASSERT_FALSE(IsDefault(rt)) << "portsig's handler did not linger";
    const struct rlimit none = {0, 0};
    ASSERT_EQ(setrlimit(RLIMIT_SIGPENDING, &none), 0);
    // kill(2): the kernel lets it through without a queue entry.
    ASSERT_EQ(kill(getpid(), rt), 0);
    ADD_FAILURE() << "still alive after " << rt
                  << " whose default action ends the process";
  });
  EXPECT_TRUE(status.killed_by(rt)) << status.ToString();
}

// --------------------------------------------------------- a small stack

struct SmallStackThread {
  int wake[2];
  std::atomic<pid_t> tid{0};
  // When set: an alternate signal stack of this size, with an inaccessible
  // page below it, so an overflow faults instead of writing past it.
  size_t altstack_size = 0;
};

void* WaitOnPipe(void* arg) {
  auto* self = static_cast<SmallStackThread*>(arg);
  void* mapped = MAP_FAILED;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t stack_size = (self->altstack_size + page - 1) / page * page;
  if (self->altstack_size != 0) {
    mapped = mmap(nullptr, page + stack_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED || mprotect(mapped, page, PROT_NONE) != 0) {
      return nullptr;  // tid stays 0: the test fails.
    }
    stack_t alt = {};
    // At the top of the mapping: only the requested size above the guard.
    alt.ss_sp =
        static_cast<char*>(mapped) + page + stack_size - self->altstack_size;
    alt.ss_size = self->altstack_size;
    if (sigaltstack(&alt, nullptr) != 0) return nullptr;
  }
  self->tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  // Every signal open here, so the test can aim them at this thread.
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  // poll(2), which TSan counts as a blocking call: there it runs a
  // signal's handler at once rather than defer it past the call.
  struct pollfd readable = {self->wake[0], POLLIN, 0};
  while (poll(&readable, 1, -1) != 1) {
  }
  if (mapped != MAP_FAILED) {
    stack_t off = {};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    munmap(mapped, page + stack_size);
  }
  return nullptr;
}

// Sends signals of every kind portsig relays (a plain one, a queued
// real-time one with a value) to `small`'s thread many times, each handled
// there, and checks each arrives.
void RelayOnThread(SmallStackThread* small, pthread_attr_t* attr) {
  SignalChannel ch(64);
  const int rt = SIGRTMIN + 2;
  ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
  NotifyOptions queued;
  queued.queue_capacity = 16;
  ASSERT_TRUE(Notify(ch, {Signal(rt)}, queued).ok());
  ASSERT_EQ(pipe(small->wake), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, attr, &WaitOnPipe, small), 0);
  while (small->tid.load() == 0) sched_yield();
  testing::WaitUntilBlocked(small->tid.load());
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(pthread_kill(thread, SIGUSR1), 0);
    ASSERT_EQ(ch.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    sigval value;
    value.sival_int = i;
    ASSERT_EQ(pthread_sigqueue(thread, rt, value), 0);
    auto got = ch.ReceiveDeliveryFor(absl::Seconds(30));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->signal, Signal(rt));
    ASSERT_TRUE(got->value.has_value());
    EXPECT_EQ(got->value->sival_int, i);
  }
  const char byte = 1;
  ASSERT_EQ(write(small->wake[1], &byte, 1), 1);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  Stop(ch);
}

// portsig's handler runs on a thread whose whole stack is 16 KiB: nothing
// overflows, everything arrives.
TEST(ResourceLimitTest, TheHandlerRunsOnASixteenKibStack) {
  auto status = RunInChild([] {
    SmallStackThread small;
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 16 * 1024), 0);
    RelayOnThread(&small, &attr);
    pthread_attr_destroy(&attr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// The same on a thread with an alternate signal stack of SIGSTKSZ bytes,
// the size meant for a typical handler (portsig's is installed with
// SA_ONSTACK, so it runs there), with a guard page below it.
TEST(ResourceLimitTest, TheHandlerRunsOnASigstkszAlternateStack) {
  auto status = RunInChild([] {
    SmallStackThread small;
    small.altstack_size = SIGSTKSZ;
    RelayOnThread(&small, nullptr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
