// fork() from a host whose other threads are inside portsig, as a hostile
// (or merely busy) host does: a thread reading a channel, a context or the
// settings while another forks. The child has none of those threads, so
// any lock one of them held would be copied held for ever.
//
// Only portsig's locks may be held at these forks. GCC 12's ASan does not
// take its allocator's locks around fork(), so a child forked while another
// thread was allocating (a thread starting up allocates) can inherit one
// held and hang on its next allocation, which is no fault of portsig's: the
// tests fork only once portsig's threads sleep, and their holder threads do
// not allocate while the fork may happen.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/sanitizers.h"
#include "platform/test_hooks.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace {

using testing::ChildStatus;
using testing::RunInChild;

// Which lock the holder thread stops in (the hook's argument), once.
std::atomic<int> g_hold_in{0};
std::atomic<bool> g_inside{false};
std::atomic<bool> g_forked{false};
std::atomic<pid_t> g_forker{0};
// /proc/self/task/<forker>/syscall, written before the holder starts.
char g_forker_syscall_path[64];

// Whether the forking thread is blocked in futex(2). Without allocating
// (testing::ReadTaskFile does): the holder calls this while the other
// thread forks (see the top of this file).
bool ForkerInFutex() {
  const int fd = open(g_forker_syscall_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[32];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return false;
  text[n] = '\0';
  return std::atoi(text) == SYS_futex;
}

// The holder stays inside the lock until the forking thread either waits
// for it (fork()'s prepare handlers take it: the fix) or has forked without
// waiting (the bug: the child copies it held).
void HoldWhileForking(int which) {
  int expected = which;
  if (!g_hold_in.compare_exchange_strong(expected, 0)) return;
  g_inside.store(true);
  while (!g_forked.load() && !ForkerInFutex()) sched_yield();
}

// A thread with a stack size of its own: in a child, glibc gives a new
// thread of the default size the dead parent thread's cached stack, which
// TSan reports as "dup thread with used id".
void RunOnThread(const std::function<void()>& body) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 3 << 20);
  pthread_t thread;
  auto* owned = new std::function<void()>(body);
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* arg) -> void* {
                  auto* f = static_cast<std::function<void()>*>(arg);
                  (*f)();
                  // Freeing, and ending the thread (which under ASan hands
                  // its allocator cache back under the allocator's locks),
                  // only once the fork is done (see the top of this file).
                  while (!g_forked.load()) sched_yield();
                  delete f;
                  return nullptr;
                },
                owned),
            0);
  pthread_attr_destroy(&attr);
  while (!g_inside.load()) sched_yield();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) return;  // The caller's child part runs next.
  g_forked.store(true);
  pthread_join(thread, nullptr);
  ChildStatus status;
  ASSERT_EQ(waitpid(pid, &status.raw, 0), pid);
  EXPECT_TRUE(status.exited_ok())
      << "the child, forked while a thread held the lock: " << status.ToString()
      << (status.killed_by(SIGALRM) ? " (hung: watchdog)" : "");
  // Marks this process as the parent for the caller.
  g_forker.store(-1);
}

// Runs `hold` on another thread, stopped inside lock `which` (see
// inside_fork_held_lock), forks meanwhile, and runs `child` in the child
// under a watchdog; the child must exit 0.
void ForkWhileHeld(int which, const std::function<void()>& hold,
                   const std::function<bool()>& child) {
  g_forker.store(static_cast<pid_t>(syscall(SYS_gettid)));
  std::snprintf(g_forker_syscall_path, sizeof(g_forker_syscall_path),
                "/proc/self/task/%d/syscall",
                static_cast<int>(g_forker.load()));
  // The caller's Notify started portsig's threads (see the top of this
  // file); asleep, they stay so until the child's part raises a signal.
  testing::WaitForPortsigThreadsAsleep();
  test_hooks::inside_fork_held_lock.store(&HoldWhileForking);
  g_hold_in.store(which);
  RunOnThread(hold);
  if (g_forker.load() == -1) return;
  // In the child.
  alarm(10);  // A lock copied held hangs the child: SIGALRM fails it.
  _exit(child() ? 0 : 1);
}

TEST(ForkWhileInsideTest, AChannelsLockHeldByAnotherThread) {
  auto status = RunInChild([] {
    static SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ForkWhileHeld(
        1, [] { (void)ch.size(); },
        [] {
          raise(SIGUSR1);  // The child's dispatcher delivers into ch.
          return ch.ReceiveFor(absl::Seconds(5)) == Signal(SIGUSR1) &&
                 ch.size() == 0;
        });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ForkWhileInsideTest, AContextsLockHeldByAnotherThread) {
  auto status = RunInChild([] {
    static auto ctx = NotifyContext({SIGUSR2});
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    ForkWhileHeld(
        2, [] { (void)ctx->signal(); },
        [] {
          raise(SIGUSR2);  // The child's dispatcher finishes the context.
          return ctx->WaitFor(absl::Seconds(5)) &&
                 ctx->signal() == Signal(SIGUSR2);
        });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Waits up to 5 s for `group`'s descriptor, then takes SIGUSR1 from its
// one ready member, `ch`.
bool GroupGivesSigusr1(ChannelGroup& group, SignalChannel& ch) {
  absl::StatusOr<int> fd = group.ReadyFd();
  if (!fd.ok()) return false;
  struct pollfd p = {*fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return false;
  SignalChannel* ready[2];
  return group.ReadyChannels(absl::MakeSpan(ready)) == 1 && ready[0] == &ch &&
         ch.TryReceive() == Signal(SIGUSR1);
}

// A loop thread inside ReadyChannels, holding the group's lock, which the
// child's dispatcher needs to make a member ready.
TEST(ForkWhileInsideTest, AChannelGroupsLockHeldByAnotherThread) {
  auto status = RunInChild([] {
    static SignalChannel ch(1);
    static ChannelGroup group;
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_TRUE(group.Add(&ch).ok());
    ForkWhileHeld(
        4,
        [] {
          SignalChannel* ready[1];
          (void)group.ReadyChannels(absl::MakeSpan(ready));
        },
        [] {
          raise(SIGUSR1);
          return GroupGivesSigusr1(group, ch);
        });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A thread holding a member's lock on its way to the group's (a TryReceive
// emptying the member): fork must take the member's lock before the
// group's, as that thread does, or the two wait for each other.
void HoldInGroupDrain(int) { HoldWhileForking(5); }

TEST(ForkWhileInsideTest, AMembersLockHeldOnTheWayToItsGroupsLock) {
  auto status = RunInChild([] {
    static SignalChannel ch(1);
    // Made after ch, so a list taken newest first would take its lock
    // before ch's.
    static ChannelGroup group;
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ASSERT_TRUE(group.Add(&ch).ok());
    raise(SIGUSR1);
    ASSERT_TRUE(GroupGivesSigusr1(group, ch));
    raise(SIGUSR1);  // For the holder's TryReceive to empty.
    absl::StatusOr<int> fd = group.ReadyFd();
    ASSERT_TRUE(fd.ok());
    struct pollfd p = {*fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    test_hooks::group_member_drained.store(&HoldInGroupDrain);
    ForkWhileHeld(
        5, [] { (void)ch.TryReceive(); },
        [] {
          raise(SIGUSR1);
          return GroupGivesSigusr1(group, ch);
        });
    test_hooks::group_member_drained.store(nullptr);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ForkWhileInsideTest, TheSettingsLockHeldByAnotherThread) {
  auto status = RunInChild([] {
    static SignalChannel ch(1);
    ASSERT_TRUE(Notify(ch, {SIGUSR1}).ok());
    ForkWhileHeld(
        3, [] { (void)CurrentOptions(); },
        [] {
          Options options;
          options.restore_delay = absl::Milliseconds(1);
          return Configure(options).ok() &&
                 CurrentOptions().restore_delay == absl::Milliseconds(1) &&
                 Backend().ok();
        });
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A channel on the stack of a thread other than the one that forks is not
// in the child: that thread does not exist there, and glibc gives its stack
// to the child's next thread (portsig's own dispatcher, once the child uses
// portsig). The child used to deliver into, and Reset used to walk,
// whatever that thread wrote there (SIGSEGV), and a signal only that
// channel wanted was swallowed in the child instead of taking its default
// action.
TEST(ForkedChildTest, ChannelsOnOtherThreadsStacksAreNotInTheChild) {
#ifdef PORTSIG_TSAN
  GTEST_SKIP() << "the child's threads must take the dead threads' stacks, "
                  "which TSan refuses (dup thread with used id)";
#endif
  auto status = RunInChild([] {
    std::atomic<bool> subscribed{false};
    std::atomic<bool> forked{false};
    std::thread owner([&] {
      SignalChannel on_stack(1);
      ASSERT_TRUE(Notify(on_stack, {SIGUSR1, SIGHUP}).ok());
      subscribed.store(true);
      while (!forked.load()) sched_yield();
    });
    while (!subscribed.load()) sched_yield();
    // Notify has just started portsig's dispatcher, which may still be in
    // its start-up code (under ASan, allocating: see the top of this file).
    // Forking then once left the allocator's lock held in the child, whose
    // threads below hung on it (SIGALRM, 10 s). The owner only spins.
    testing::WaitForPortsigThreadsAsleep();
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(10);
      // Nobody in the child wants SIGHUP: its disposition is back.
      struct sigaction hup;
      sigaction(SIGHUP, nullptr, &hup);
      if ((hup.sa_flags & SA_SIGINFO) || hup.sa_handler != SIG_DFL) _exit(2);
      // Threads of the child's own take the parent threads' cached stacks
      // (all alive at once, so each takes another) and write over them.
      constexpr int kScribblers = 8;
      std::atomic<int> started{0};
      std::vector<std::thread> scribblers;
      for (int i = 0; i < kScribblers; ++i) {
        scribblers.emplace_back([&started] {
          started.fetch_add(1);
          while (started.load() < kScribblers) sched_yield();
          volatile unsigned char junk[512 << 10];
          std::memset(const_cast<unsigned char*>(junk), 0xA5, sizeof(junk));
        });
      }
      for (std::thread& t : scribblers) t.join();
      SignalChannel own(1);
      if (!Notify(own, {SIGUSR1}).ok()) _exit(3);
      raise(SIGUSR1);  // Fans out to every channel that wants SIGUSR1.
      if (own.ReceiveFor(absl::Seconds(5)) != Signal(SIGUSR1)) _exit(4);
      if (!Reset().ok()) _exit(5);
      _exit(0);
    }
    forked.store(true);
    owner.join();
    ChildStatus child;
    ASSERT_EQ(waitpid(pid, &child.raw, 0), pid);
    EXPECT_TRUE(child.exited_ok()) << child.ToString();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace portsig
