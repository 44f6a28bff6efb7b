// SigQueue under real signals: a SIGUSR1 handler installed the way portsig's
// runtime installs its own (SA_SIGINFO|SA_ONSTACK|SA_RESTART, full sa_mask)
// calls Send(), while tgkill aims a storm of SIGUSR1 at exactly the threads
// that take the queue's lock in ordinary context.
//
// What this guards: the note backend's spin lock is only safe because every
// ordinary lock holder blocks signals first. If one of them forgot, a handler
// landing inside its critical section would spin forever on a lock its own
// thread holds. Such a hang is the failure this test must report, so the
// storm runs in a death-test child with an alarm() watchdog: a deadlock kills
// the child with SIGALRM instead of hanging the test runner. The parent
// (the gtest runner) never sends or handles a signal itself.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "platform/sigqueue.h"
#include "platform/sync.h"
#include "platform/wakeup.h"

namespace portsig {
namespace platform {
namespace {

// tgkill calls in one storm, alternated between the two lock-holding
// threads. The storm is paced (see there), so nearly every one runs the
// handler; the child prints the figures to the test log.
constexpr int kSignals = 20000;
// ...or as many as fit in this time, so a loaded machine or a sanitizer
// build cannot stretch the test. Only the note backend has a lock to
// deadlock on, so it gets the longer storm. Measured: a missing signal
// block deadlocks it within the first ~150 signals on an idle machine, and
// after ~1,000 on average (up to ~4,000) on a loaded one, where 4 s still
// gives ~8,000.
constexpr absl::Duration kNoteStormBudget = absl::Seconds(4);
constexpr absl::Duration kPosixStormBudget = absl::Seconds(1);
// Length of each burst of one kind of call on the control thread.
constexpr absl::Duration kControlBurst = absl::Microseconds(100);
// The storm waits for each signal's handler to return, at most this long,
constexpr absl::Duration kMaxHandlerWait = absl::Microseconds(200);
// ...then a random gap below this, a few iterations of the targets' loops.
constexpr int64_t kMaxGapNs = 8000;
// A correct child is done within its storm budget plus a fraction of a
// second; a deadlocked one is killed by SIGALRM after this long.
constexpr unsigned kWatchdogSeconds = 20;

// Slots the receiver treats as commands from the test's main thread. They are
// only ever queued with Send() from a thread with signals blocked; nothing
// raises them as real signals.
constexpr int kQuiesce = SIGUSR2;  // Block signals, then report back.
constexpr int kStop = SIGSYS;      // Leave the receive loop.

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// What the handler saw. Plain lock-free atomics: the only shared state a
// signal handler may touch.
std::atomic<SigQueue*> g_queue{nullptr};
std::atomic<int64_t> g_handler_calls{0};
std::atomic<int64_t> g_handler_returns{0};
std::atomic<int64_t> g_handler_queued{0};
std::atomic<int64_t> g_handler_coalesced{0};
std::atomic<int64_t> g_handler_other{0};  // Any other result is a bug.

void OnSigusr1(int, siginfo_t*, void*) {
  // futex syscalls inside Send may set errno; the interrupted code must not
  // see it change.
  const int saved_errno = errno;
  g_handler_calls.fetch_add(1, std::memory_order_relaxed);
  switch (g_queue.load(std::memory_order_acquire)->Send(SIGUSR1)) {
    case SendResult::kQueued:
      g_handler_queued.fetch_add(1, std::memory_order_relaxed);
      break;
    case SendResult::kCoalesced:
      g_handler_coalesced.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      g_handler_other.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  g_handler_returns.fetch_add(1, std::memory_order_release);
  errno = saved_errno;
}

// The runtime's installation. sa_mask is the full set, which is what makes a
// handler-side Send() legal on the note backend: nothing can interrupt the
// handler while it holds the lock. No alternate stack is installed here
// (ASan keeps its own per thread and would unmap ours at thread exit), so
// SA_ONSTACK uses whatever the thread has.
void InstallHandler() {
  struct sigaction action = {};
  action.sa_sigaction = &OnSigusr1;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&action.sa_mask);
  if (sigaction(SIGUSR1, &action, nullptr) != 0) {
    std::perror("sigaction(SIGUSR1)");
    std::_Exit(2);
  }
}

void SetSignalMask(int how, std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  pthread_sigmask(how, &set, nullptr);
}

// Everything the storm measured; checked in the child once all threads are
// quiet.
struct StormResult {
  int64_t tgkills = 0;
  int64_t tgkill_errors = 0;
  int64_t handler_calls = 0;
  int64_t handler_queued = 0;
  int64_t handler_coalesced = 0;
  int64_t handler_other = 0;
  int64_t usr1_received = 0;
  int64_t usr1_occurrences = 0;
  int64_t notes_queued = 0;
  int64_t notes_overflow = 0;
  int64_t notes_received = 0;
  int64_t unexpected_received = 0;
  int64_t idle_waits = 0;
  uint64_t queue_overflows = 0;
  absl::Duration elapsed;

  std::string Summary() const {
    return absl::StrCat(
        "storm: ", tgkills, " tgkill (", tgkill_errors, " failed), ",
        handler_calls, " handler calls (", handler_queued, " queued, ",
        handler_coalesced, " coalesced, ", handler_other, " other), ",
        usr1_received, " SIGUSR1 received standing for ", usr1_occurrences,
        "; ", notes_queued, " notes queued, ", notes_overflow, " refused, ",
        notes_received, " received; ", idle_waits, " WaitUntilIdle; ",
        unexpected_received, " unexpected; overflows()=", queue_overflows, "; ",
        absl::FormatDuration(elapsed));
  }
};

// Runs the storm on `queue`. Call only in the death-test child: it installs
// a process-wide handler and sends real signals.
StormResult RunStorm(SigQueue* queue, absl::Duration budget) {
  const absl::Time start = absl::Now();
  // The test's own thread never runs the handler: it sends, and its Send()s
  // below must not be interruptible (sigqueue.h). SIGALRM stays deliverable
  // everywhere so the watchdog can kill a deadlocked child; its default
  // action ends the whole process whichever thread takes it.
  sigset_t all_but_alarm;
  sigfillset(&all_but_alarm);
  sigdelset(&all_but_alarm, SIGALRM);
  pthread_sigmask(SIG_SETMASK, &all_but_alarm, nullptr);
  signal(SIGALRM, SIG_DFL);

  queue->Enable(SIGUSR1);
  queue->Enable(kQuiesce);
  queue->Enable(kStop);
  queue->Enable(kTextNoteSlot);
  g_queue.store(queue, std::memory_order_release);
  InstallHandler();

  StormResult result;
  std::atomic<pid_t> receiver_tid{0};
  std::atomic<pid_t> control_tid{0};
  std::atomic<bool> storm_done{false};
  std::atomic<int64_t> usr1_received{0};
  std::atomic<int64_t> usr1_occurrences{0};
  std::atomic<int64_t> notes_received{0};
  std::atomic<int64_t> unexpected_received{0};
  Notification quiesced;

  // What the receiver and the control thread take while they hold the
  // receive role (the control thread in WaitUntilIdle, which drains).
  auto count = [&](const QueuedSignal& got) {
    if (got.signo == SIGUSR1) {
      usr1_received.fetch_add(1, std::memory_order_relaxed);
      usr1_occurrences.fetch_add(got.occurrences, std::memory_order_relaxed);
    } else if (got.signo == 0) {
      notes_received.fetch_add(1, std::memory_order_relaxed);
    } else {
      unexpected_received.fetch_add(1, std::memory_order_relaxed);
    }
  };

  // Lock holder 1: the receiver, parked in or looping on Receive(). It
  // leaves SIGUSR1 unblocked on purpose: the queue must protect its own
  // critical sections. kQuiesce and kStop are sent after the control
  // thread has ended, so only this thread takes them.
  std::thread receiver([&] {
    receiver_tid.store(Gettid(), std::memory_order_release);
    SetSignalMask(SIG_UNBLOCK, {SIGUSR1});
    for (;;) {
      QueuedSignal got;
      queue->Receive(&got);
      if (got.signo == kQuiesce) {
        // From here on no handler runs on this thread, so once the main
        // thread hears back, the handler counters are final.
        SetSignalMask(SIG_BLOCK, {SIGUSR1});
        quiesced.Notify();
      } else if (got.signo == kStop) {
        return;
      } else {
        count(got);
      }
    }
  });

  // Lock holder 2: a control thread taking the lock through SendNote() and
  // WaitUntilIdle() (which drains) until the storm is over. Also unblocked.
  // Each call runs back to back in a burst of fixed length: a lone call
  // spends most of its time in syscalls (futex wake, sched_yield), and a
  // signal that arrives there is taken on the way out, outside any critical
  // section. Timed rather than counted bursts give each kind of call an
  // even share whichever is the cheap one in this build.
  std::thread control([&] {
    control_tid.store(Gettid(), std::memory_order_release);
    SetSignalMask(SIG_UNBLOCK, {SIGUSR1});
    while (!storm_done.load(std::memory_order_acquire)) {
      // Only the first note of a burst has to wake the receiver; once the
      // queue is full SendNote refuses, which takes the lock too.
      for (absl::Time end = absl::Now() + kControlBurst; absl::Now() < end;) {
        for (int i = 0; i < 8; ++i) {
          switch (queue->SendNote("storm", SignalRecord())) {
            case SendResult::kQueued:
              ++result.notes_queued;
              break;
            case SendResult::kOverflow:
              ++result.notes_overflow;
              break;
            default:  // kUnsupported on posix.
              break;
          }
        }
      }
      // The first wait drains the notes; the rest find the queue empty.
      for (absl::Time end = absl::Now() + kControlBurst; absl::Now() < end;) {
        for (int i = 0; i < 8; ++i) {
          queue->WaitUntilIdle(count);
          ++result.idle_waits;
        }
      }
    }
  });

  while (receiver_tid.load(std::memory_order_acquire) == 0 ||
         control_tid.load(std::memory_order_acquire) == 0) {
    YieldProcessor();
  }
  const pid_t targets[] = {receiver_tid.load(), control_tid.load()};
  const pid_t pid = getpid();
  // Microsecond sleeps below must not be rounded up to the default 50 us
  // timer slack. Affects this thread only.
  prctl(PR_SET_TIMERSLACK, 1);
  uint64_t rng = 0x9e3779b97f4a7c15u;  // xorshift64; any fixed seed will do.
  const absl::Time storm_end = absl::Now() + budget;
  for (int i = 0; i < kSignals && absl::Now() < storm_end; ++i) {
    // Both targets live until after the storm, so tgkill cannot hit a
    // recycled tid.
    const int64_t returns_before = g_handler_returns.load();
    if (syscall(SYS_tgkill, pid, targets[i % 2], SIGUSR1) == 0) {
      ++result.tgkills;
    } else {
      ++result.tgkill_errors;
    }
    // Pace the storm. Sent back to back, signals coalesce while pending and
    // each one is taken the moment the previous handler returns, always at
    // the same point of the target's loop. So wait for the handler to
    // return, then a random gap, and the next signal lands somewhere fresh.
    // Sleep through both rather than spin: on a 2-core machine a spinning
    // sender takes a CPU from the targets, they then switch at their futex
    // syscalls and take every signal on the way out of one, never inside a
    // critical section; with the CPUs to themselves they are interrupted
    // (by IPI) at arbitrary instructions. The wait is bounded: a target
    // stuck in a handler (the bug), or asleep with delivery deferred
    // (TSan), must not stall the storm.
    const absl::Time give_up = absl::Now() + kMaxHandlerWait;
    while (g_handler_returns.load() == returns_before &&
           absl::Now() < give_up) {
      absl::SleepFor(absl::Microseconds(2));
    }
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    absl::SleepFor(absl::Nanoseconds(rng % kMaxGapNs));
  }
  storm_done.store(true, std::memory_order_release);
  control.join();  // Its handlers, if any, have all returned.

  // Quiesce the receiver the ordinary way, through the queue: this thread
  // has every signal but SIGALRM blocked, as a plain-thread sender must.
  while (queue->Send(kQuiesce) != SendResult::kQueued) YieldProcessor();
  quiesced.WaitForNotification();
  // No handler can run any more; wait until the receiver has taken
  // everything the handlers and the control thread queued.
  queue->WaitUntilIdle(count);

  result.handler_calls = g_handler_calls.load();
  result.handler_queued = g_handler_queued.load();
  result.handler_coalesced = g_handler_coalesced.load();
  result.handler_other = g_handler_other.load();
  result.usr1_received = usr1_received.load();
  result.usr1_occurrences = usr1_occurrences.load();
  result.notes_received = notes_received.load();
  result.unexpected_received = unexpected_received.load();
  result.queue_overflows = queue->overflows();

  while (queue->Send(kStop) != SendResult::kQueued) YieldProcessor();
  receiver.join();
  result.elapsed = absl::Now() - start;
  return result;
}

// Empty when every invariant holds, else one line per broken one.
std::string CheckStorm(const StormResult& r, bool coalesces) {
  std::string errors;
  auto expect = [&errors](bool ok, const std::string& what) {
    if (!ok) absl::StrAppend(&errors, "FAILED: ", what, "\n");
  };
  expect(r.tgkill_errors == 0, "every tgkill succeeded");
  // Without handler runs the test would prove nothing.
  expect(r.handler_calls > 0, "the handler ran at least once");
  expect(r.handler_other == 0,
         "the handler's Send returned only kQueued or kCoalesced");
  expect(r.handler_calls ==
             r.handler_queued + r.handler_coalesced + r.handler_other,
         "every handler call was counted once");
  expect(r.unexpected_received == 0, "the receiver got only what was sent");
  if (r.handler_queued > 0) {
    expect(r.usr1_received >= 1, "a queued SIGUSR1 reached the receiver");
  }
  expect(r.queue_overflows ==
             static_cast<uint64_t>(r.handler_coalesced + r.notes_overflow),
         "overflows() counts exactly the set-aside and refused sends");
  expect(r.usr1_occurrences == r.handler_queued + r.handler_coalesced,
         "the deliveries' occurrence counts add up to every accepted send");
  if (coalesces) {
    // posix: bits never overflow; repeats may coalesce, never multiply.
    expect(r.handler_coalesced == 0, "posix backend never overflows");
    expect(r.usr1_received <= r.handler_queued,
           "posix receiver got no more SIGUSR1 than were queued");
    expect(r.notes_queued == 0 && r.notes_received == 0,
           "posix backend carries no text notes");
  } else {
    // note: each queued send arrives as its own delivery; those set aside
    // while the queue was full fold into a few more.
    expect(r.usr1_received >= r.handler_queued &&
               r.usr1_received <= r.handler_queued + r.handler_coalesced,
           "note receiver got each queued SIGUSR1 once, plus at most one "
           "per set-aside send");
    expect(r.notes_received == r.notes_queued,
           "note receiver got each queued text note exactly once");
  }
  return errors;
}

// The death-test child: runs the storm, prints the figures, and exits 0 only
// if every invariant held.
[[noreturn]] void StormChild(const std::string& backend) {
  alarm(kWatchdogSeconds);
  auto queue = NewSigQueue(backend);
  if (!queue.ok()) {
    std::fprintf(stderr, "%s\n", queue.status().ToString().c_str());
    std::exit(3);
  }
  const StormResult result = RunStorm(
      queue->get(), backend == "note" ? kNoteStormBudget : kPosixStormBudget);
  alarm(0);
  const std::string summary = result.Summary();
  // stdout reaches the test log even when the child passes.
  std::printf("[%s] %s\n", backend.c_str(), summary.c_str());
  std::fflush(stdout);
  const std::string errors = CheckStorm(result, backend == "posix");
  if (!errors.empty()) {
    std::fprintf(stderr, "%s%s\n", errors.c_str(), summary.c_str());
    std::exit(1);
  }
  // exit(), not _exit(): the sanitizers report at exit and turn what they
  // found into a non-zero status.
  std::exit(0);
}

class SigQueueSignalTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SigQueueSignalTest, HandlerSendNeverDeadlocksOrdinaryLockHolders) {
  // "threadsafe" re-executes the binary for the child, so the child starts
  // single-threaded and the runner process never sees a signal.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(StormChild(GetParam()), ::testing::ExitedWithCode(0), "")
      << "\"Terminated by signal 14\" is the SIGALRM watchdog: the child "
         "was still running after "
      << kWatchdogSeconds << " s, i.e. deadlocked";
}

INSTANTIATE_TEST_SUITE_P(Backends, SigQueueSignalTest,
                         ::testing::Values("posix", "note"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace platform
}  // namespace portsig
