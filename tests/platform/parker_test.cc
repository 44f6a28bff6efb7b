// Parker (platform/parker.h), on whichever platform layer this build has:
// a signal handler's Wake ends a Wait, and a forked child's sleeper is
// woken by the child's own Wakes even while a thread the parent left
// parked in the copied Parker sleeps on (with the self-pipe, a child that
// kept the parent's pipe shared it: the parent's sleeper drained bytes
// meant for the child, which then slept for good). On the generic POSIX
// layer, a waker's write to the pipe comes after the sleeper made it.
#include "platform/parker.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "platform/os_name.h"
#include "tests/testing/child_process.h"
#include "tests/testing/proc_tasks.h"

namespace portsig {
namespace platform {
namespace {

using ::portsig::testing::RunInChild;

Parker* g_parker = nullptr;
std::atomic<uint32_t> g_word{0};

void WakeFromHandler(int) {
  const int saved = errno;
  g_word.store(1);
  g_parker->Wake(&g_word);
  errno = saved;
}

TEST(ParkerTest, AWakeFromASignalHandlerEndsAWait) {
  auto status = RunInChild([] {
    static Parker parker;
    g_parker = &parker;
    struct sigaction action = {};
    action.sa_handler = &WakeFromHandler;
    sigemptyset(&action.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &action, nullptr), 0);
    // The sleeper blocks SIGUSR1, so the handler runs on this thread and
    // only Wake can end the sleeper's Wait.
    std::atomic<bool> started{false};
    std::thread sleeper([&] {
      sigset_t usr1;
      sigemptyset(&usr1);
      sigaddset(&usr1, SIGUSR1);
      pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
      started.store(true);
      while (g_word.load() == 0) parker.Wait(&g_word, 0);
    });
    while (!started.load()) std::this_thread::yield();
    ASSERT_EQ(pthread_kill(pthread_self(), SIGUSR1), 0);
    sleeper.join();  // A lost wake-up hangs here: RunInChild's watchdog.
    EXPECT_EQ(g_word.load(), 1u);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(ParkerTest, AForkedChildsWakesReachItsOwnSleeper) {
  constexpr uint32_t kRounds = 2000;
  auto status = RunInChild([] {
    static Parker parker;
    static std::atomic<uint32_t> parent_word{0};
    static std::atomic<pid_t> parent_sleeper_tid{0};
    // Parked in the parent for the whole test, sharing nothing with the
    // child's sleeper but the Parker the child copies.
    std::thread parent_sleeper([] {
      parent_sleeper_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
      while (parent_word.load() == 0) parker.Wait(&parent_word, 0);
    });
    // Fork only once that thread is parked. Then the child copies a Parker
    // in use (with the self-pipe: one whose pipe the parent's sleeper
    // polls), which is the case under test. And the thread no longer runs
    // its start-up code, which allocates: ASan's allocator does not take
    // its locks around fork(), so a fork in the middle left the child's
    // first allocation (its sleeper's start) waiting for a lock nobody
    // would release, until SIGALRM.
    pid_t tid;
    while ((tid = parent_sleeper_tid.load()) == 0) std::this_thread::yield();
    while (!::portsig::testing::TaskSleeps(std::to_string(tid))) usleep(100);
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child == 0) {
      alarm(60);  // A sleeper that misses a Wake dies of SIGALRM.
      static std::atomic<uint32_t> word{0};
      static std::atomic<uint32_t> acknowledged{0};
      // Twice the default stack, so glibc does not hand this thread the
      // cached stack (and so the id) of the parent's sleeper, which TSan
      // still counts as running and reports as a duplicate thread.
      pthread_attr_t attr;
      size_t stack_size = 0;
      if (pthread_attr_init(&attr) != 0 ||
          pthread_attr_getstacksize(&attr, &stack_size) != 0 ||
          pthread_attr_setstacksize(&attr, 2 * stack_size) != 0) {
        _exit(3);
      }
      pthread_t sleeper;
      auto sleep_rounds = [](void*) -> void* {
        for (uint32_t round = 1; round <= kRounds; ++round) {
          while (word.load() < round) parker.Wait(&word, round - 1);
          acknowledged.store(round);
        }
        return nullptr;
      };
      if (pthread_create(&sleeper, &attr, sleep_rounds, nullptr) != 0) {
        _exit(4);
      }
      pthread_attr_destroy(&attr);
      for (uint32_t round = 1; round <= kRounds; ++round) {
        word.store(round);
        parker.Wake(&word);
        while (acknowledged.load() < round) std::this_thread::yield();
      }
      pthread_join(sleeper, nullptr);
      _exit(0);
    }
    ::portsig::testing::ChildStatus ended;
    ASSERT_EQ(waitpid(child, &ended.raw, 0), child);
    EXPECT_TRUE(ended.exited_ok()) << ended.ToString();
    parent_word.store(1);
    parker.Wake(&parent_word);
    parent_sleeper.join();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// On the generic POSIX layer the sleeper's first Wait makes the pipe
// (pipe, fcntl) and stores its descriptors; Wake, on another thread or in
// a signal handler, loads the write end and writes a byte to it. That
// write must come after the pipe was made. Wake loaded the descriptor with
// a relaxed load after a fence, which orders nothing the sleeper did
// before its store with what follows the load (and TSan ignores fences):
// while Wake wrote with write(2), TSan reported a data race on the
// descriptor between the sleeper's pipe() and Wake's write(), in both tests
// above. Wake now writes with a raw system call, which TSan does not see,
// so the waker here makes the same write with write(2) right after Wake,
// ordered after pipe() only by what Wake's load acquired. Only TSan can
// fail this test; it checks nothing in other builds.
TEST(ParkerTest, AWakersWriteIsOrderedAfterThePipeWasMade) {
  if (std::string(PlatformOs()) != "posix") {
    GTEST_SKIP() << "a futex wake uses no descriptor (the self-pipe is the "
                    "generic POSIX layer's)";
  }
  auto status = RunInChild([] {
    alarm(30);
    static Parker parker;
    static std::atomic<uint32_t> word{0};
    static std::atomic<pid_t> sleeper_tid{0};
    bool open_before[1024];
    for (int fd = 0; fd < 1024; ++fd) open_before[fd] = fcntl(fd, F_GETFD) >= 0;
    std::thread sleeper([] {
      sleeper_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
      while (word.load() == 0) parker.Wait(&word, 0);
    });
    // The pipe's write end, once Wait has set its flags (FD_CLOEXEC last).
    // fcntl(2) is not one of TSan's fd operations, so looking orders
    // nothing.
    int write_end = -1;
    while (write_end < 0) {
      for (int fd = 0; fd < 1024 && write_end < 0; ++fd) {
        const int status_flags = fcntl(fd, F_GETFL);
        if (!open_before[fd] && status_flags >= 0 &&
            (status_flags & O_ACCMODE) == O_WRONLY &&
            (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0) {
          write_end = fd;
        }
      }
      if (write_end < 0) usleep(100);
    }
    // Blocked in poll(2): past storing the descriptors, so Wake loads them.
    pid_t tid;
    while ((tid = sleeper_tid.load()) == 0) std::this_thread::yield();
    ::portsig::testing::WaitUntilBlocked(tid);
    word.store(1);
    parker.Wake(&word);
    const char byte = 1;
    EXPECT_EQ(write(write_end, &byte, 1), 1);  // A spare wake-up: harmless.
    sleeper.join();
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// This process's open descriptors.
int OpenDescriptors() {
  int count = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) ++count;
  }
  return count;
}

constexpr struct timespec kMillisecond = {0, 1000 * 1000};

void* WaitWithACancellationPending(void* parker) {
  pthread_cancel(pthread_self());  // Pending: the state is deferred.
  static_cast<Parker*>(parker)->Wait(&g_word, 0, &kMillisecond);
  pthread_testcancel();  // Where Wait is no cancellation point (futex).
  return nullptr;
}

// On the generic POSIX layer, the first Wait in a forked child closes the
// inherited pipe and makes its own. close(2) is a cancellation point: a
// cancellation acting there (a receiver cancelled as it first sleeps in
// the child) left both inherited descriptors open with nothing naming
// them, for good. Now it acts in the poll, after the new pipe is made.
TEST(ParkerTest, AWaitCancelledInAForkedChildLeavesNoDescriptorBehind) {
  if (std::string(PlatformOs()) != "posix") {
    GTEST_SKIP() << "a futex wait holds no descriptor (the self-pipe is the "
                    "generic POSIX layer's)";
  }
  auto status = RunInChild([] {
    Parker parker;
    g_word.store(0);
    parker.Wait(&g_word, 0, &kMillisecond);  // Makes its pipe.
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(30);
      const int before = OpenDescriptors();
      pthread_t thread;
      pthread_create(&thread, nullptr, &WaitWithACancellationPending, &parker);
      void* result = nullptr;
      pthread_join(thread, &result);
      if (result != PTHREAD_CANCELED) _exit(4);
      parker.Wait(&g_word, 0, &kMillisecond);  // The child's pipe, if any.
      _exit(OpenDescriptors() == before ? 0 : 3);
    }
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    ASSERT_TRUE(WIFEXITED(raw)) << "raw status " << raw;
    EXPECT_NE(WEXITSTATUS(raw), 3)
        << "the inherited pipe's descriptors were left open";
    EXPECT_EQ(WEXITSTATUS(raw), 0);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

}  // namespace
}  // namespace platform
}  // namespace portsig
