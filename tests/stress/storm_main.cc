// Signal storm: portsig under load, faults and forks, with every invariant
// checked at the end. One binary, three modes (see BUILD):
//
//   storm        churn threads run Notify/Stop/Reset/Ignore/Ignored/
//                NotifyContext (and invalid calls) on many channels while
//                flood threads and a flooder child process send a mix of
//                signals with kill() and with tgkill() at every thread of
//                the process, portsig's dispatcher included (found through
//                /proc/self/task), and probe threads Notify, raise and
//                check a signal of their own in the thick of it.
//   --faults     the same, with the test hooks delaying the sender between
//                its `wanted` check and its hand-off, pausing the dispatcher
//                before each fan-out and holding Stop between its phases,
//                while AtomicStop threads check Go's TestAtomicStop property
//                on signals of their own.
//   --forks      the same, while a thread forks children that Notify and
//                receive a signal of their own while the flood (also aimed
//                at the whole process group, so at the new children) goes
//                on; each child is watched for a hang.
//
// The storm runs in a forked child in its own process group, so no signal
// ever reaches the test runner; the runner is the watchdog: a child still
// running long after its budget is killed and reported as a hang, with the
// phase it was stuck in. The child's exit status carries its failures (and
// a sanitizer's report).
//
// Invariants: no hang, no crash, no sanitizer report (here); no probe
// signal lost, no API call refused unexpectedly, no forked child hung
// (storm/actors.h, as they run); the last signal of each kind reaches every
// registered channel, dropped() counts exactly the deliveries that found a
// full buffer, the backend's accounting adds up, and Reset() restores every
// disposition exactly (storm/invariants.h, at the end).
//
// Figures go to stdout as one "RELIABILITY ..." line (storm/figures.h, see
// RELIABILITY.md).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os_signal/signal.h"
#include "tests/stress/storm/actors.h"
#include "tests/stress/storm/channels.h"
#include "tests/stress/storm/config.h"
#include "tests/stress/storm/figures.h"
#include "tests/stress/storm/handlers.h"
#include "tests/stress/storm/invariants.h"
#include "tests/stress/storm/kinds.h"
#include "tests/stress/storm/shared.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(5),
          "How long the storm runs (the phases before and after it are "
          "short).");
ABSL_FLAG(bool, faults, false,
          "Turn on the fault-injection hooks and the AtomicStop threads.");
ABSL_FLAG(bool, forks, false, "Fork children throughout the storm.");
ABSL_FLAG(bool, fork_with_receivers, false,
          "With --forks, keep the threads that receive from registered "
          "channels (readers, drains, contexts) running while forking (known "
          "to hang children: see RELIABILITY.md).");
ABSL_FLAG(int, churn_threads, 3, "Threads calling the API.");
ABSL_FLAG(int, channels_per_churner, 12, "Channels each churner owns.");
ABSL_FLAG(int, flood_threads, 2, "In-process signal-sending threads.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of every random choice.");
ABSL_FLAG(int, burst, 0,
          "Signals each sender sends between 50 us pauses (0: 8, or 1 with "
          "--faults, where the paused dispatcher would otherwise never be "
          "idle and Stop would hardly ever return).");
ABSL_FLAG(bool, host_handled_churn, false,
          "Also Reset/Ignore/Stop signals whose original disposition is a "
          "host handler or SIG_IGN while they are flooded (known to fail: "
          "see RELIABILITY.md).");

namespace portsig {
namespace storm {
namespace {

Config ConfigFromFlags() {
  Config config;
  config.duration = absl::GetFlag(FLAGS_duration);
  config.faults = absl::GetFlag(FLAGS_faults);
  config.forks = absl::GetFlag(FLAGS_forks);
  config.receivers = !config.forks || absl::GetFlag(FLAGS_fork_with_receivers);
  config.churn_threads = absl::GetFlag(FLAGS_churn_threads);
  config.channels_per_churner = absl::GetFlag(FLAGS_channels_per_churner);
  config.flood_threads = absl::GetFlag(FLAGS_flood_threads);
  config.seed = absl::GetFlag(FLAGS_seed);
  const int burst = absl::GetFlag(FLAGS_burst);
  config.burst = burst > 0 ? burst : config.faults ? 1 : 8;
  config.kinds = Kinds::Choose(absl::GetFlag(FLAGS_host_handled_churn));
  if (const char* backend = std::getenv("PORTSIG_SIGQUEUE")) {
    config.backend = backend;
  }
  return config;
}

// One storm, in the storm process: Setup, Storm, Check, Report.
class Storm {
 public:
  Storm(const Config& config, Shared* shared)
      : config_(config), shared_(shared) {}

  void Run() {
    Setup();
    if (::testing::Test::HasFatalFailure()) return;
    RunActors();
    Check();
    Report();
    // Every thread that could deliver into a channel has been joined, or
    // (the dispatcher) finds nothing registered after Reset.
    shared_->phase = kDone;
  }

 private:
  // Host dispositions, the flooder child (before portsig and before any
  // thread), the hooks, and the stable channels with their readers.
  void Setup() {
    shared_->phase = kSetup;
    InstallHostDispositions();
    original_ = Dispositions::Save();
    const pid_t self = getpid();
    std::fflush(nullptr);
    flooder_ = fork();
    ASSERT_GE(flooder_, 0);
    if (flooder_ == 0) FlooderChild(config_, self, config_.forks, shared_);
    CountPortsigEntries();
    if (config_.faults) InstallFaultHooks();
    known_.AddSelf();
    for (const int kind : config_.kinds.stable) {
      const struct {
        size_t capacity;
        bool reader;
      } shapes[] = {{0, true}, {1, false}, {4, true}, {64, false}};
      for (const auto& shape : shapes) {
        auto s = std::make_unique<StableChannel>();
        s->kind = kind;
        s->channel = std::make_unique<SignalChannel>(shape.capacity);
        s->has_reader = shape.reader && config_.receivers;
        ASSERT_TRUE(Notify(*s->channel, {s->kind}).ok());
        stable_.push_back(std::move(s));
      }
    }
    for (auto& s : stable_) {
      if (!s->has_reader) continue;
      readers_.emplace_back([this, s = s.get()] {
        known_.AddSelf();
        Read(s, &stop_readers_);
      });
    }
  }

  // Every actor thread from flood_go until the storm's end, then the
  // flooder child.
  void RunActors() {
    shared_->phase = kStorm;
    shared_->flood_go = true;
    const absl::Time start = absl::Now();
    const absl::Time end = start + config_.duration;
    std::vector<std::thread> threads;
    churn_.resize(config_.churn_threads);
    for (int i = 0; i < config_.churn_threads; ++i) {
      churn_[i].resize(config_.channels_per_churner);
      threads.emplace_back([this, i, end] {
        known_.AddSelf();
        Churn(config_, i, end, &f_, &churn_[i]);
      });
    }
    for (int i = 0; i < config_.flood_threads; ++i) {
      threads.emplace_back([this, i, end] {
        known_.AddSelf();
        Flood(config_, i, end, &known_, &f_);
      });
    }
    for (int i = 0; i < kAtomicStopThreads; ++i) {
      threads.emplace_back([this, i, end] {
        known_.AddSelf();
        if (config_.faults) {
          AtomicStop(config_, i, end, &f_);
        } else {
          Probe(i, end, &f_);
        }
      });
    }
    if (config_.forks) {
      threads.emplace_back([this, end] {
        known_.AddSelf();
        ForkChildren(end, &f_);
      });
    }
    shared_->phase = kJoiningThreads;
    for (auto& t : threads) t.join();
    shared_->flood_stop = true;
    int flooder_status = 0;
    EXPECT_EQ(waitpid(flooder_, &flooder_status, 0), flooder_);
    EXPECT_TRUE(WIFEXITED(flooder_status) && WEXITSTATUS(flooder_status) == 0)
        << "flooder child status " << flooder_status;
    f_.stormed = absl::Now() - start;
  }

  void Check() {
    shared_->phase = kFinalSignals;
    EXPECT_TRUE(CheckFinalSignalsArrive(config_, stable_, churn_, &f_));

    shared_->phase = kCheckingCounters;
    stop_readers_ = true;
    for (auto& t : readers_) t.join();
    const AtRest at_rest = WaitUntilAtRest(stable_);
    CountDeliveries(stable_, at_rest, churn_, &f_);
    EXPECT_TRUE(CheckDroppedCountsFullBuffers(config_, stable_, at_rest));
    EXPECT_TRUE(CheckAccounting(config_, stable_, at_rest, &f_));

    shared_->phase = kResetAndCompare;
    RemoveFaultHooks();
    EXPECT_TRUE(CheckResetRestores(original_, &f_));
    EXPECT_TRUE(CheckActorFigures(config_, f_));
  }

  void Report() {
    const HandlerCounts& counts = Counts();
    f_.child_sent = shared_->child_sent.load();
    f_.child_group_sent = shared_->child_group_sent.load();
    f_.child_errors = shared_->child_errors.load();
    f_.queue_overflows = QueueOverflows();
    f_.fault_sender_delays = counts.fault_sender_delays.load();
    f_.fault_fanout_pauses = counts.fault_fanout_pauses.load();
    f_.fault_stop_holds = counts.fault_stop_holds.load();
    f_.tsan_undelivered = counts.tsan_undelivered.load();
    const std::string line =
        f_.ReliabilityLine(config_.harness(), config_.backend);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  const Config config_;
  Shared* const shared_;
  Dispositions original_;
  pid_t flooder_ = -1;
  KnownThreads known_;
  Figures f_;
  StableChannels stable_;
  ChurnChannels churn_;
  std::atomic<bool> stop_readers_{false};
  std::vector<std::thread> readers_;
};

TEST(StormTest, LosesNothingAndNeverHangs) {
  const Config config = ConfigFromFlags();
  Shared* shared = NewShared();
  ASSERT_NE(shared, nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);  // Group floods must never reach the test runner.
    Storm(config, shared).Run();
    std::fflush(nullptr);
    // exit(), not _exit(): sanitizers report at exit.
    std::exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  setpgid(pid, pid);
  // The watchdog: generous, and only a hang ever reaches it.
  const absl::Time give_up =
      absl::Now() + 3 * config.duration + absl::Seconds(120);
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (done == 0) {
    const int phase = shared->phase.load();
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    std::printf("RELIABILITY hangs=1 phase=%s\n", PhaseName(phase));
    FAIL() << "storm hung in phase \"" << PhaseName(phase) << "\"";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "storm child " << (WIFSIGNALED(status) ? "killed by signal " : "exit ")
      << (WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status))
      << " in phase \"" << PhaseName(shared->phase.load()) << "\"";
}

}  // namespace
}  // namespace storm
}  // namespace portsig

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  return RUN_ALL_TESTS();
}
