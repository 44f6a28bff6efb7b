// platform/own_restorer.h: a handler installed with portsig's restorer
// sees it as its return address, gets the kernel's siginfo and returns to
// the interrupted code with its mask put back, as under the C library's
// sigaction(); one installed through sigaction() never sees portsig's
// restorer; and an unwinder walks out of the handler through portsig's
// restorer as far as through the C library's. Where the build has no
// restorer of its own (the generic layer, i386, ThreadSanitizer), the
// calls are sigaction(2) and the handler never sees one.
//
// Each case runs in a forked child: it changes SIGUSR1's disposition.
#include "platform/own_restorer.h"

#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include "platform/sanitizers.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"
#include "tests/testing/linux_layer.h"

namespace portsig {
namespace platform {
namespace {

using testing::CurrentAction;
using testing::DescribeDifference;
using testing::RunInChild;

struct Seen {
  std::atomic<int> runs{0};
  std::atomic<bool> own_restorer{false};
  std::atomic<int> signo{0};
  std::atomic<int> code{0};
  std::atomic<pid_t> pid{0};
  std::atomic<int> value{0};
  std::atomic<int> frames{0};
  std::atomic<const void*> return_address{nullptr};
};
Seen g_seen;

// Kept by the handler: what its return address says, what the kernel
// passed, and how deep an unwinder gets from inside it.
void Recorder(int signo, siginfo_t* info, void*) {
  const int saved_errno = errno;
  g_seen.own_restorer.store(IsOwnRestorer(__builtin_return_address(0)));
  g_seen.return_address.store(__builtin_return_address(0));
  g_seen.signo.store(info->si_signo);
  g_seen.code.store(info->si_code);
  g_seen.pid.store(info->si_pid);
  g_seen.value.store(info->si_value.sival_int);
  void* frames[64];
  g_seen.frames.store(backtrace(frames, 64));
  g_seen.runs.fetch_add(1);
  (void)signo;
  errno = saved_errno;
}

// backtrace() loads libgcc's unwinder on its first call, which allocates:
// done once here, before any handler calls it.
const bool g_unwinder_loaded = [] {
  void* frames[4];
  return backtrace(frames, 4) > 0;
}();

struct sigaction RecorderAction() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = &Recorder;
  action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR2);
  return action;
}

// The same call site for every install, so the unwinder's depth compares.
__attribute__((noinline)) void QueueToSelf(int value) {
  sigval v;
  v.sival_int = value;
  ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0);
  // Keeps this frame from being a tail call.
  asm volatile("" ::: "memory");
}

// Queues one SIGUSR1 with `value` and checks the thread's mask and errno
// came back as they were.
void QueueAndCheckReturn(int value) {
  sigset_t before, after;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &before), 0);
  const int runs = g_seen.runs.load();
  errno = 1234;
  QueueToSelf(value);
  EXPECT_EQ(errno, 1234);
  ASSERT_EQ(g_seen.runs.load(), runs + 1) << "the handler did not run once";
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &after), 0);
  for (int s = 1; s < NSIG; ++s) {
    EXPECT_EQ(sigismember(&before, s), sigismember(&after, s))
        << "signal " << s;
  }
  EXPECT_EQ(g_seen.signo.load(), SIGUSR1);
  EXPECT_EQ(g_seen.code.load(), SI_QUEUE);
  EXPECT_EQ(g_seen.pid.load(), getpid());
  EXPECT_EQ(g_seen.value.load(), value);
}

TEST(OwnRestorerTest, AHandlerInstalledWithItSeesItAndGetsTheKernelsSiginfo) {
  auto status = RunInChild([] {
    const struct sigaction action = RecorderAction();
    ASSERT_EQ(SigactionWithOwnRestorer(SIGUSR1, action), 0);
    // What a reader of the disposition sees is what was asked for.
    EXPECT_EQ(DescribeDifference(action, CurrentAction(SIGUSR1)), "");
    QueueAndCheckReturn(41);
    EXPECT_EQ(g_seen.own_restorer.load(), HasOwnRestorer());
    // Again: the restorer's rt_sigreturn left the disposition in place.
    QueueAndCheckReturn(42);
    EXPECT_EQ(g_seen.own_restorer.load(), HasOwnRestorer());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OwnRestorerTest, AHandlerInstalledThroughSigactionNeverSeesIt) {
  auto status = RunInChild([] {
    const struct sigaction action = RecorderAction();
    ASSERT_EQ(sigaction(SIGUSR1, &action, nullptr), 0);
    QueueAndCheckReturn(7);
    EXPECT_FALSE(g_seen.own_restorer.load());
    // A host that read portsig's installation and put a copy back with
    // sigaction(): the C library's restorer, so not portsig's.
    ASSERT_EQ(SigactionWithOwnRestorer(SIGUSR1, action), 0);
    const struct sigaction read = CurrentAction(SIGUSR1);
    ASSERT_EQ(sigaction(SIGUSR1, &read, nullptr), 0);
    QueueAndCheckReturn(8);
    EXPECT_FALSE(g_seen.own_restorer.load());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

TEST(OwnRestorerTest, SigactionAsReadKeepsTheRestorerItRead) {
  auto status = RunInChild([] {
    const struct sigaction action = RecorderAction();
    ASSERT_EQ(SigactionWithOwnRestorer(SIGUSR1, action), 0);
    const struct sigaction own = CurrentAction(SIGUSR1);
    ASSERT_EQ(sigaction(SIGUSR1, &action, nullptr), 0);
    const struct sigaction libc = CurrentAction(SIGUSR1);

    ASSERT_EQ(SigactionAsRead(SIGUSR1, own), 0);
    EXPECT_EQ(DescribeDifference(action, CurrentAction(SIGUSR1)), "");
    QueueAndCheckReturn(1);
    EXPECT_EQ(g_seen.own_restorer.load(), HasOwnRestorer());

    ASSERT_EQ(SigactionAsRead(SIGUSR1, libc), 0);
    EXPECT_EQ(DescribeDifference(action, CurrentAction(SIGUSR1)), "");
    QueueAndCheckReturn(2);
    EXPECT_FALSE(g_seen.own_restorer.load());
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// backtrace() (libgcc's unwinder, as exceptions and crash reporters use)
// walks from inside the handler, through the signal frame, out to the code
// that sent the signal and beyond: as deep through portsig's restorer as
// through the C library's. An unwinder that did not recognise portsig's
// restorer would stop there, or take the unwind entry of whatever code
// precedes it.
TEST(OwnRestorerTest, AnUnwinderWalksThroughItAsThroughTheCLibrarys) {
  auto status = RunInChild([] {
    ASSERT_TRUE(g_unwinder_loaded);
    const struct sigaction action = RecorderAction();
    ASSERT_EQ(sigaction(SIGUSR1, &action, nullptr), 0);
    QueueAndCheckReturn(1);
    const int through_libc = g_seen.frames.load();
    ASSERT_EQ(SigactionWithOwnRestorer(SIGUSR1, action), 0);
    QueueAndCheckReturn(2);
    ASSERT_EQ(g_seen.own_restorer.load(), HasOwnRestorer());
    const int through_own = g_seen.frames.load();
    // The handler, the restorer, sigqueue, QueueToSelf, QueueAndCheckReturn,
    // this lambda, and gtest's frames under it.
    EXPECT_GE(through_libc, 6);
    EXPECT_EQ(through_own, through_libc);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// libgcc's lookup of the unwind entry (FDE) covering `pc`, as every
// unwinder does it (libgcc_s exports it; its header is libgcc's own).
struct DwarfEhBases {
  void* tbase;
  void* dbase;
  void* func;
};
extern "C" const void* _Unwind_Find_FDE(const void* pc, DwarfEhBases* bases);

// Whether an unwind entry covers the instruction before `return_address`
// (where unwinders look, taking it for a call), and marks a signal frame:
// its CIE's augmentation string has an S.
struct UnwindEntry {
  bool found = false;
  bool signal_frame = false;
};
UnwindEntry EntryBefore(const void* return_address) {
  UnwindEntry entry;
  DwarfEhBases bases;
  const auto* fde = static_cast<const char*>(
      _Unwind_Find_FDE(static_cast<const char*>(return_address) - 1, &bases));
  if (fde == nullptr) return entry;
  entry.found = true;
  // An FDE: length (4 bytes), then the distance back to its CIE from that
  // field; a CIE: length, id, version (1 byte), augmentation string.
  uint32_t to_cie;
  std::memcpy(&to_cie, fde + 4, sizeof(to_cie));
  const char* cie = fde + 4 - to_cie;
  entry.signal_frame = std::strchr(cie + 9, 'S') != nullptr;
  return entry;
}

// libunwind (profilers, crash reporters) and LLVM's unwinder go through a
// signal frame only by the unwind entry that covers the restorer and the
// byte before it, as glibc gives its own: without one, libunwind's walk
// from a handler ended at portsig's restorer (2 frames where glibc's gave
// 9). Found for portsig's as for the C library's, and marking a signal
// frame. (libgcc, which backtrace() above uses, also follows that entry,
// so the unwinding case checks what it says.)
TEST(OwnRestorerTest, UnwindersFindItsUnwindEntryAsTheCLibrarys) {
  auto status = RunInChild([] {
    const struct sigaction action = RecorderAction();
    ASSERT_EQ(sigaction(SIGUSR1, &action, nullptr), 0);
    QueueAndCheckReturn(1);
    const UnwindEntry libc = EntryBefore(g_seen.return_address.load());
#ifndef PORTSIG_TSAN
    // Under TSan its runtime calls the handler, and the return address is
    // in its code, with or without portsig's restorer.
    EXPECT_TRUE(libc.found);
    EXPECT_TRUE(libc.signal_frame);
#endif
    ASSERT_EQ(SigactionWithOwnRestorer(SIGUSR1, action), 0);
    QueueAndCheckReturn(2);
    ASSERT_EQ(g_seen.own_restorer.load(), HasOwnRestorer());
    const UnwindEntry own = EntryBefore(g_seen.return_address.load());
    EXPECT_EQ(own.found, libc.found);
    EXPECT_EQ(own.signal_frame, libc.signal_frame);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// Where the build has a restorer of its own and nothing stands between
// portsig and the C library's sigaction() (ASan's runtime intercepts it),
// this process uses it: the cases above compare with HasOwnRestorer(), and
// would pass, without the restorer ever being tried, were it false
// everywhere.
TEST(OwnRestorerTest, UsedInALinuxX8664GlibcBuildWithNoInterposer) {
  bool expected = testing::LinuxLayer();
#if !defined(__x86_64__) || defined(__ILP32__) || !defined(__GLIBC__) || \
    defined(PORTSIG_TSAN) || defined(__SANITIZE_ADDRESS__)
  expected = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  expected = false;
#endif
#endif
  EXPECT_EQ(HasOwnRestorer(), expected);
}

}  // namespace
}  // namespace platform
}  // namespace portsig
