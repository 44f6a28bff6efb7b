// The handler map's fast paths for a Notify and a Stop of a signal that
// other channels want too (os_signal/handler_map.cc,
// AddNamedSignalFastLocked and TakeSharedSignalsFastLocked) claim to be
// exact narrowings of Add's and TakeAllLocked's general path: every step
// they skip does nothing in the cases they take.
//
// DifferentialTest drives one seeded random sequence of Notify (one signal,
// two, every signal, once, queue mode), Stop, Reset and Ignore over a few
// channels and signals, twice, each in a fresh forked child: once as
// shipped, once with the fast paths off (test_hooks::
// no_handler_map_fast_paths). After each step it records, per signal,
// whether portsig's mask thread has it open (what the count of names
// drives), Ignored, the disposition, and where a raise() of it goes (which
// channels, or the host's handler); each run also checks that against a
// model of who wants and names what. The two records must be identical.
// Mutation-checked: removing the fast Notify's ++named_count_ or the fast
// Stop's --named_count_ fails every seed; removing the fast Notify's
// `!once_.empty()` condition (a plain Notify of a signal the channel has
// once would leave it once) fails 7 of the 8.
//
// ForkTest: a channel on the stack of a thread other than the one that
// forks is not in the child (HandlerMap::ResetInForkedChild, which goes by
// Subscriber::stack_owner_), also when its Notify took the fast path.
// Mutation-checked: the fast Notify without its stack_owner_ record fails
// it. And a forked child's first Notify of a signal its parent named
// takes the general path, which starts the child's own dispatcher and
// mask thread (runtime::DispatcherReady), and returns ResourceExhausted,
// changing nothing, where they cannot be made (signal.h). Mutation-checked:
// the fast Notify without its DispatcherReady condition fails it (it
// returns OK with no thread started; a receive would start them, so only
// a signal the child blocks everywhere and nobody receives yet waits).
//
// Every test body runs in a forked child (RunInChild): they raise signals.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "platform/test_hooks.h"
#include "runtime/runtime.h"
#include "tests/testing/child_process.h"

namespace portsig {
namespace {

using testing::RunInChild;

std::atomic<int> g_host_calls[NSIG];

// The host's handler, installed before portsig touches the signal: what an
// unwanted signal gets. (A signal whose saved disposition is SIG_DFL would
// keep portsig's handler for the restore delay after its last Stop, and the
// mask open with it: timing, which the record must not depend on.)
void HostHandler(int signo) { g_host_calls[signo].fetch_add(1); }

void InstallHostHandler(int signo) {
  struct sigaction sa = {};
  sa.sa_handler = &HostHandler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(signo, &sa, nullptr), 0);
}

constexpr int kChannels = 4;
constexpr int kSignals = 3;
// SIGRTMIN is not a constant: a real-time one for queue mode.
int TestSignal(int i) {
  const int signals[kSignals] = {SIGUSR1, SIGUSR2, SIGRTMIN + 2};
  return signals[i];
}

// Who wants and names what, as Go's semantics say.
struct Model {
  bool wants[kChannels][kSignals] = {};
  bool named[kChannels][kSignals] = {};
  bool once[kChannels][kSignals] = {};
  // Released by a once delivery since the channel's last Stop: until its
  // entry on the stopping list is gone (a thread of portsig's finishes it,
  // once.h), a later occurrence that others want may reach it too ("As
  // race-free as Stop", notify_options.h), or not: either is right.
  bool maybe[kChannels][kSignals] = {};

  void Subscribe(int c, int i, bool name, bool is_once) {
    wants[c][i] = true;
    if (name) named[c][i] = true;
    once[c][i] = is_once;
  }
  void Drop(int c, int i) { wants[c][i] = named[c][i] = once[c][i] = false; }
  void Stop(int c) {
    for (int i = 0; i < kSignals; ++i) {
      Drop(c, i);
      maybe[c][i] = false;
    }
  }
  bool AnyWants(int i) const {
    for (int c = 0; c < kChannels; ++c)
      if (wants[c][i]) return true;
    return false;
  }
  bool AnyNames(int i) const {
    for (int c = 0; c < kChannels; ++c)
      if (named[c][i]) return true;
    return false;
  }
};

// 'p' portsig's handler (anything else), 'h' the host's, 'i' SIG_IGN,
// 'd' SIG_DFL.
char DispositionOf(int signo) {
  struct sigaction sa;
  sigaction(signo, nullptr, &sa);
  if (sa.sa_flags & SA_SIGINFO) return 'p';
  if (sa.sa_handler == &HostHandler) return 'h';
  if (sa.sa_handler == SIG_IGN) return 'i';
  if (sa.sa_handler == SIG_DFL) return 'd';
  return 'p';
}

// Runs `steps` random steps from `seed`, writing one line per step to
// `out`, and checks each against the model.
void RunSequence(uint32_t seed, int steps, FILE* out) {
  for (int i = 0; i < kSignals; ++i) InstallHostHandler(TestSignal(i));
  // Large enough for one step's deliveries (each is drained at once).
  std::vector<std::unique_ptr<SignalChannel>> channels;
  for (int c = 0; c < kChannels; ++c) {
    channels.push_back(std::make_unique<SignalChannel>(8));
  }
  Model model;
  std::mt19937 rng(seed);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % n); };
  for (int step = 0; step < steps && !::testing::Test::HasFailure(); ++step) {
    int c = pick(kChannels);
    int i = pick(kSignals);
    // A third of the time, a pair still relayed once if there is one: a
    // plain Notify of it must end the once (options replace), on the fast
    // path too.
    if (pick(3) == 0) {
      for (int k = 0; k < kChannels * kSignals; ++k) {
        const int pair = (c * kSignals + i + k) % (kChannels * kSignals);
        if (model.once[pair / kSignals][pair % kSignals]) {
          c = pair / kSignals;
          i = pair % kSignals;
          break;
        }
      }
    }
    const int j = (i + 1 + pick(kSignals - 1)) % kSignals;
    const int roll = pick(100);
    std::string op;
    absl::Status status;
    if (roll < 45) {
      // The fast Notify's case once another channel names it.
      op = absl::StrCat("notify ", c, " ", i);
      status = Notify(*channels[c], {Signal(TestSignal(i))});
      model.Subscribe(c, i, /*name=*/true, /*is_once=*/false);
    } else if (roll < 68) {
      op = absl::StrCat("stop ", c);
      Stop(*channels[c]);
      model.Stop(c);
    } else if (roll < 74) {
      op = absl::StrCat("notify2 ", c, " ", i, " ", j);
      status =
          Notify(*channels[c], {Signal(TestSignal(i)), Signal(TestSignal(j))});
      model.Subscribe(c, i, true, false);
      model.Subscribe(c, j, true, false);
    } else if (roll < 78) {
      op = absl::StrCat("once ", c, " ", i);
      NotifyOptions options;
      options.once = true;
      status = Notify(*channels[c], {Signal(TestSignal(i))}, options);
      model.Subscribe(c, i, true, true);
    } else if (roll < 82) {
      const int rt = kSignals - 1;
      const bool is_once = pick(2) == 0;
      op = absl::StrCat("queue ", c, is_once ? " once" : "");
      NotifyOptions options;
      options.queue_capacity = 4;
      options.once = is_once;
      status = Notify(*channels[c], {Signal(TestSignal(rt))}, options);
      model.Subscribe(c, rt, true, is_once);
    } else if (roll < 84) {
      op = absl::StrCat("notify-all ", c);
      status = Notify(*channels[c]);
      for (int s = 0; s < kSignals; ++s) model.Subscribe(c, s, false, false);
    } else if (roll < 89) {
      op = absl::StrCat("reset ", i);
      status = Reset({Signal(TestSignal(i))});
      for (int d = 0; d < kChannels; ++d) model.Drop(d, i);
    } else if (roll < 94) {
      op = absl::StrCat("ignore ", i);
      status = Ignore({Signal(TestSignal(i))});
      for (int d = 0; d < kChannels; ++d) model.Drop(d, i);
    } else if (roll < 97) {
      op = "reset-all";
      status = Reset();
      for (int d = 0; d < kChannels; ++d)
        for (int s = 0; s < kSignals; ++s) model.Drop(d, s);
    } else {
      op = "look";
    }
    ASSERT_TRUE(status.ok()) << "step " << step << " " << op << ": " << status;
    std::string line = absl::StrCat(step, " ", op, " |");
    for (int s = 0; s < kSignals; ++s) {
      const int signo = TestSignal(s);
      const bool open = runtime::MaskOpen(signo);
      const bool ignored = Ignored(Signal(signo));
      const char disposition = DispositionOf(signo);
      const std::string where =
          absl::StrCat("step ", step, " (", op, "), signal ", signo);
      EXPECT_EQ(open, model.AnyNames(s)) << "mask open, " << where;
      absl::StrAppend(&line, " ", s, ":", open ? "o" : "-", ignored ? "i" : "-",
                      std::string(1, disposition));
      if (model.AnyWants(s)) {
        EXPECT_EQ(disposition, 'p') << where;
        EXPECT_FALSE(ignored) << where;
      } else {
        EXPECT_TRUE(disposition == 'h' || disposition == 'i') << where;
        EXPECT_EQ(ignored, disposition == 'i') << where;
      }
      // Raised about every other step, so that what a step set up (a once
      // subscription, say) sometimes meets the next steps first.
      if (pick(2) == 0) continue;
      const int host_before = g_host_calls[signo].load();
      // Not blocked here: the handler runs on this thread before raise()
      // returns, and WaitUntilIdle returns once what it queued is fanned
      // out.
      raise(signo);
      runtime::WaitUntilIdle();
      const int host = g_host_calls[signo].load() - host_before;
      std::string got;
      for (int d = 0; d < kChannels; ++d) {
        int n = 0;
        while (std::optional<Signal> sig = channels[d]->TryReceive()) {
          EXPECT_EQ(*sig, Signal(signo)) << where;
          ++n;
        }
        // Either count is right for a channel the model is unsure of: the
        // record, which both runs must match, does not show it.
        absl::StrAppend(&got, !model.wants[d][s] && model.maybe[d][s] && n <= 1
                                  ? "?"
                                  : absl::StrCat(n));
      }
      absl::StrAppend(&line, host, "/", got);
      for (int d = 0; d < kChannels; ++d) {
        if (got[d] != '?') {
          EXPECT_EQ(got[d] - '0', model.wants[d][s] ? 1 : 0)
              << "channel " << d << ", " << where << ": " << line;
        }
        // Once: the first occurrence taken ends the subscription.
        if (got[d] == '1' && model.once[d][s]) {
          model.Drop(d, s);
          model.maybe[d][s] = true;
        }
      }
      EXPECT_EQ(host, disposition == 'h' ? 1 : 0) << where << ": " << line;
    }
    fprintf(out, "%s\n", line.c_str());
    fflush(out);
  }
  for (int c = 0; c < kChannels; ++c) Stop(*channels[c]);
}

std::string ReadFile(const std::string& path) {
  std::string text;
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return text;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), f)) > 0) text.append(buffer, n);
  fclose(f);
  return text;
}

// The record of one run in a fresh child; empty if the child failed.
std::string RecordOf(uint32_t seed, int steps, bool fast_paths) {
  const char* dir = getenv("TEST_TMPDIR");
  std::string path =
      absl::StrCat(dir != nullptr ? dir : "/tmp", "/fast_path_XXXXXX");
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  close(fd);
  auto status = RunInChild([&] {
    test_hooks::no_handler_map_fast_paths.store(!fast_paths);
    FILE* out = fopen(path.c_str(), "w");
    ASSERT_NE(out, nullptr);
    RunSequence(seed, steps, out);
    fclose(out);
  });
  std::string record = ReadFile(path);
  unlink(path.c_str());
  if (!status.exited_ok()) {
    // The steps up to the failure.
    constexpr size_t kTail = 3000;
    ADD_FAILURE() << (fast_paths ? "fast paths on" : "fast paths off")
                  << ", seed " << seed << ": " << status.ToString()
                  << "; its record ends:\n"
                  << record.substr(record.size() > kTail ? record.size() - kTail
                                                         : 0);
    return "";
  }
  return record;
}

class DifferentialTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(DifferentialTest, FastPathsChangeNothingObservable) {
  constexpr int kSteps = 1000;
  const std::string general = RecordOf(GetParam(), kSteps, false);
  const std::string fast = RecordOf(GetParam(), kSteps, true);
  ASSERT_FALSE(general.empty());
  ASSERT_FALSE(fast.empty());
  std::istringstream general_lines(general), fast_lines(fast);
  std::string g, f;
  while (std::getline(general_lines, g)) {
    ASSERT_TRUE(std::getline(fast_lines, f))
        << "fast record ends before: " << g;
    ASSERT_EQ(g, f) << "first difference (general path, then fast)";
  }
  EXPECT_FALSE(std::getline(fast_lines, f)) << "fast record goes on: " << f;
}

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialTest, ::testing::Range(1u, 9u));

// The fast Notify records which thread's stack the channel lives on, as the
// general one does: a forked child drops a channel on the stack of a
// parent thread other than the forking one (that thread does not exist
// there, and its stack goes to the child's next thread). Here the dropped
// channel was SIGUSR1's other subscriber: the child's Stop of the kept one
// must then give SIGUSR1 back to the host and close it on the mask thread.
// The child makes no thread.
class ForkTest : public ::testing::TestWithParam<bool> {};

TEST_P(ForkTest, ChannelOnAnotherThreadsStackIsNotInTheChild) {
  const bool fast_paths = GetParam();
  auto status = RunInChild([fast_paths] {
    test_hooks::no_handler_map_fast_paths.store(!fast_paths);
    InstallHostHandler(SIGUSR1);
    static SignalChannel kept(1);  // On no thread's stack.
    ASSERT_TRUE(Notify(kept, {SIGUSR1}).ok());
    std::atomic<bool> subscribed{false};
    std::atomic<bool> forked{false};
    std::thread owner([&] {
      SignalChannel on_stack(1);
      // Named by `kept` already: the fast path, unless turned off.
      ASSERT_TRUE(Notify(on_stack, {SIGUSR1}).ok());
      subscribed.store(true);
      while (!forked.load()) sched_yield();
      Stop(on_stack);
    });
    while (!subscribed.load()) sched_yield();
    testing::WaitForPortsigThreadsAsleep();
    fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(10);
      Stop(kept);
      if (DispositionOf(SIGUSR1) != 'h') _exit(2);
      if (runtime::MaskOpen(SIGUSR1)) _exit(3);
      raise(SIGUSR1);
      if (g_host_calls[SIGUSR1].load() != 1) _exit(4);
      _exit(0);
    }
    forked.store(true);
    owner.join();
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    testing::ChildStatus child{raw};
    EXPECT_TRUE(child.exited_ok())
        << child.ToString()
        << " (2: SIGUSR1 not the host's again; 3: still open; 4: not "
           "the host's)";
    Stop(kept);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

// A default stack of `size` for new threads (pthread_setattr_default_np):
// one too large to map makes every pthread_create with default attributes
// fail, as tests/os_signal/thread_failure_test does. Whether it took.
// 64 TiB where size_t is 64 bits, 3 GiB where it is 32.
constexpr size_t kImpossibleStack = static_cast<size_t>(std::min<uint64_t>(
    uint64_t{1} << 46, std::numeric_limits<size_t>::max() / 4 * 3));
bool SetDefaultStackSize(size_t size) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  const bool set = pthread_attr_setstacksize(&attr, size) == 0 &&
                   pthread_setattr_default_np(&attr) == 0;
  pthread_attr_destroy(&attr);
  return set;
}

TEST_P(ForkTest, ANotifyInAForkedChildStartsItsMaskThread) {
  const bool fast_paths = GetParam();
  auto status = RunInChild([fast_paths] {
    test_hooks::no_handler_map_fast_paths.store(!fast_paths);
    static SignalChannel parents(1);
    ASSERT_TRUE(Notify(parents, {SIGUSR1}).ok());  // Opened on the mask thread.
    testing::WaitForPortsigThreadsAsleep();
    fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(60);  // Watchdog: a signal never delivered dies of SIGALRM.
      // Blocked in the child's one thread: only a mask thread takes it.
      sigset_t usr1;
      sigemptyset(&usr1);
      sigaddset(&usr1, SIGUSR1);
      if (pthread_sigmask(SIG_BLOCK, &usr1, nullptr) != 0) _exit(2);
      if (runtime::DispatcherReady()) _exit(3);  // The parent's threads.
      // Named by `parents` (inherited) already; but nothing of portsig's
      // runs in the child yet, which only the general path starts. Where
      // no thread can be made, Notify says so and changes nothing
      // (signal.h).
      SignalChannel child(1);
      if (!SetDefaultStackSize(kImpossibleStack)) _exit(4);
      if (Notify(child, {SIGUSR1}).code() !=
          absl::StatusCode::kResourceExhausted) {
        _exit(5);
      }
      if (!SetDefaultStackSize(size_t{8} << 20)) _exit(4);
      if (!Notify(child, {SIGUSR1}).ok()) _exit(6);
      if (!runtime::DispatcherReady()) _exit(7);
#ifndef __SANITIZE_THREAD__  // TSan runs no handler in such a child.
      if (kill(getpid(), SIGUSR1) != 0) _exit(8);
      if (child.Receive() != Signal(SIGUSR1)) _exit(9);
#endif
      _exit(0);
    }
    int raw = 0;
    ASSERT_EQ(waitpid(pid, &raw, 0), pid);
    testing::ChildStatus ended{raw};
    EXPECT_TRUE(ended.exited_ok())
        << ended.ToString()
        << " (5: Notify returned other than ResourceExhausted without "
           "threads; 7: it started no dispatcher or mask thread)";
    Stop(parents);
  });
  EXPECT_TRUE(status.exited_ok()) << status.ToString();
}

INSTANTIATE_TEST_SUITE_P(FastPathsOnAndOff, ForkTest, ::testing::Bool());

}  // namespace
}  // namespace portsig
