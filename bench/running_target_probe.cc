// How long kill(getpid(), SIGUSR1) takes to reach a plain sigaction handler
// that the kernel runs on another thread, by what that thread is doing when
// the signal comes: spinning in user mode (a pause instruction), spinning
// through sched_yield (a system call each turn, as portsig's spin does), or
// asleep in pause(). The sender blocks SIGUSR1, so the kernel must pick the
// target (the main thread, the thread-group leader).
//
// Why it exists: on this project's VMs a spinning receiver that leaves the
// signal open is reached later than a sleeping one (BENCHMARKS.md, "What
// stands in the way"), which is what runtime/spin_mask.h works around. No
// library involved; medians and p90 of 2,000 signals per state.
//
//   ./bazelw build -c opt //bench:running_target_probe &&
//   bazel-bin/bench/running_target_probe
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

enum class Target { kPauseInstruction, kSchedYield, kAsleep };

std::atomic<long> g_handled_at{0};
std::atomic<bool> g_done{false};

long NowNs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

void Handler(int) { g_handled_at.store(NowNs(), std::memory_order_release); }

void Spin(Target target) {
  while (!g_done.load(std::memory_order_relaxed)) {
    switch (target) {
      case Target::kPauseInstruction:
        __builtin_ia32_pause();
        break;
      case Target::kSchedYield:
        sched_yield();
        break;
      case Target::kAsleep:
        pause();
        break;
    }
  }
}

void Probe(const char* name, Target target) {
  constexpr int kSignals = 2000;
  g_done.store(false);
  std::vector<long> latencies;
  latencies.reserve(kSignals);
  std::thread sender([&] {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
    usleep(10000);  // Let the main thread settle into its state.
    for (int i = 0; i < kSignals; ++i) {
      g_handled_at.store(0);
      const long sent = NowNs();
      kill(getpid(), SIGUSR1);
      long handled;
      while ((handled = g_handled_at.load(std::memory_order_acquire)) == 0) {
      }
      latencies.push_back(handled - sent);
      usleep(50);  // The target goes back to its state.
    }
    g_done.store(true);
    kill(getpid(), SIGUSR1);  // Ends pause().
  });
  Spin(target);
  sender.join();
  std::sort(latencies.begin(), latencies.end());
  std::printf("target=%s signals=%d p50_ns=%ld p90_ns=%ld\n", name, kSignals,
              latencies[latencies.size() / 2],
              latencies[latencies.size() * 9 / 10]);
}

}  // namespace

int main() {
  struct sigaction action = {};
  action.sa_handler = &Handler;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, nullptr);
  Probe("spinning_pause_instruction", Target::kPauseInstruction);
  Probe("spinning_sched_yield", Target::kSchedYield);
  Probe("asleep_in_pause", Target::kAsleep);
  return 0;
}
