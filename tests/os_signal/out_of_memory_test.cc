// Running out of heap memory inside Notify, NotifyContext, Stop, Reset or
// Ignore (os_signal/signal.h): either std::bad_alloc reaches the caller and
// portsig goes on working (Stop, Reset, Notify and delivery after it), or the
// process ends at once, saying "portsig: out of memory". Never a crash later,
// elsewhere, from tables an exception left half changed (Abseil's hash tables
// are corrupt after a bad_alloc thrown while they grow).
//
// The failure is injected by replacing the global operator new in this
// test binary: the n-th allocation the calling thread makes after arming
// throws, for every n until a call makes fewer. A real RLIMIT_AS cannot aim
// at each allocation in turn (tests/os_signal/resource_limit_test.cc sets
// the kernel's limits).
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/testing/child_process.h"
#include "tests/testing/dispositions.h"

namespace {

// Allocations the calling thread may still make before one throws; -1:
// none throws. Per thread, so portsig's own threads never see the failure.
thread_local long t_allocations_left = -1;

}  // namespace

void* operator new(std::size_t size) {
  if (t_allocations_left == 0) {
    t_allocations_left = -1;
    throw std::bad_alloc();
  }
  if (t_allocations_left > 0) --t_allocations_left;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace portsig {
namespace {

bool IsDefault(int signo) {
  const struct sigaction now = testing::CurrentAction(signo);
  return !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL;
}

enum class Call { kNotify, kStop, kReset, kIgnore, kNotifyContext };

// What the child did with the n-th allocation of `call` failing.
enum Outcome : int {
  kGoneOn = 0,      // bad_alloc caught (or none), everything works after.
  kNoneFailed = 7,  // The call made fewer than n+1 allocations: done.
};

// In a child: a channel subscribed to signals and notes (one in queue
// mode), a second one sharing a signal, then `call` with its n-th
// allocation failing; then checks portsig still works.
testing::CapturedChild RunWithFailure(Call call, long n) {
  return testing::RunInChildCapturingStderr([call, n] {
    std::vector<Signal> wanted = {Signal(SIGUSR1), Signal(SIGUSR2),
                                  Signal(SIGHUP), Signal(SIGRTMIN)};
    for (int i = 0; i < 4; ++i) {
      wanted.push_back(Signal::Note("a note long enough to be allocated " +
                                    std::to_string(i)));
    }
    SignalChannel other(4);
    ASSERT_TRUE(Notify(other, {SIGUSR2}).ok());
    auto* ch = new SignalChannel(4);
    NotifyOptions queued;
    queued.queue_capacity = 4;
    if (call != Call::kNotify) {
      ASSERT_TRUE(Notify(*ch, wanted).ok());
      ASSERT_TRUE(Notify(*ch, {Signal(SIGRTMIN)}, queued).ok());
    }
    // Destroyed after the failure is disarmed: a destructor that runs out
    // of memory ends the process (RELIABILITY.md), which is not this test's
    // subject.
    absl::StatusOr<SignalContext> context = absl::UnknownError("not made");
    t_allocations_left = n;
    try {
      switch (call) {
        case Call::kNotify:
          (void)Notify(*ch, wanted);
          (void)Notify(*ch, {Signal(SIGRTMIN)}, queued);
          break;
        case Call::kStop:
          Stop(*ch);
          break;
        case Call::kReset:
          (void)Reset();
          break;
        case Call::kIgnore:
          (void)Ignore({SIGUSR2, SIGHUP});
          break;
        case Call::kNotifyContext:
          context = NotifyContext({SIGUSR1, SIGHUP});
          break;
      }
    } catch (const std::bad_alloc&) {
      // Allowed: the failure came before portsig changed anything.
    }
    const bool none_failed = t_allocations_left != -1;
    t_allocations_left = -1;
    // Everything still works.
    Stop(*ch);
    Stop(other);
    EXPECT_TRUE(Reset().ok());
    for (int signo : {SIGUSR1, SIGUSR2, SIGHUP}) {
      EXPECT_TRUE(IsDefault(signo)) << signo;
    }
    SignalChannel again(1);
    ASSERT_TRUE(Notify(again, {SIGUSR1, Signal::Note("again")}).ok());
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(again.ReceiveFor(absl::Seconds(30)), Signal(SIGUSR1));
    Stop(again);
    delete ch;
    if (none_failed && !::testing::Test::HasFailure()) {
      std::fflush(nullptr);
      _exit(kNoneFailed);
    }
  });
}

void FailEachAllocationOf(Call call) {
  for (long n = 0; n < 5000; ++n) {
    testing::CapturedChild child = RunWithFailure(call, n);
    if (WIFEXITED(child.status.raw) &&
        WEXITSTATUS(child.status.raw) == kNoneFailed) {
      return;
    }
    if (child.status.exited_ok()) continue;
    // Otherwise only portsig's own ending, at once.
    ASSERT_TRUE(child.status.killed_by(SIGABRT) &&
                child.output.find("portsig: out of memory") !=
                    std::string::npos)
        << "allocation " << n << " failing: " << child.status.ToString()
        << ", stderr:\n"
        << child.output;
  }
  FAIL() << "more than 5000 allocations";
}

TEST(OutOfMemoryTest, EachAllocationOfNotifyFailing) {
  FailEachAllocationOf(Call::kNotify);
}

TEST(OutOfMemoryTest, EachAllocationOfStopFailing) {
  FailEachAllocationOf(Call::kStop);
}

TEST(OutOfMemoryTest, EachAllocationOfResetFailing) {
  FailEachAllocationOf(Call::kReset);
}

TEST(OutOfMemoryTest, EachAllocationOfIgnoreFailing) {
  FailEachAllocationOf(Call::kIgnore);
}

TEST(OutOfMemoryTest, EachAllocationOfNotifyContextFailing) {
  FailEachAllocationOf(Call::kNotifyContext);
}

}  // namespace
}  // namespace portsig
