// The storm mode's ceiling, in the forced placement (harness.h), for any
// library that catches the signal with a sigaction handler: the receiving
// thread blocks SIGUSR1 and the sender does not, so Linux runs the handler
// on the sender for each kill(getpid()) before kill returns. (In the
// kernel placement the handler runs on the receiving thread instead, and
// this ceiling does not apply.) This program, single-threaded, times kill
// in the storm's loop three ways:
// with an empty handler (the least any such library can cost the sender),
// with the signal blocked (what the sigwaitinfo and signalfd floors see),
// and prints kills/s for each. A library's deliveries/s cannot exceed its
// kills/s, since a pending signal coalesces.
//
//   ./bazelw build -c opt //bench:storm_ceiling &&
//   bazel-bin/bench/storm_ceiling
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace {

std::atomic<long> g_handler_runs{0};

void EmptyHandler(int, siginfo_t*, void*) {
  g_handler_runs.fetch_add(1, std::memory_order_relaxed);
}

// kill(getpid(), SIGUSR1) in the storm mode's loop for one second.
double KillsPerSecond() {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  long kills = 0;
  Clock::time_point now;
  do {
    for (int i = 0; i < 64; ++i) kill(getpid(), SIGUSR1);
    kills += 64;
    now = Clock::now();
  } while (now - start < std::chrono::seconds(1));
  return kills / std::chrono::duration<double>(now - start).count();
}

}  // namespace

int main() {
  // Installed as portsig installs its own handler.
  struct sigaction action = {};
  action.sa_sigaction = &EmptyHandler;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&action.sa_mask);
  sigaction(SIGUSR1, &action, nullptr);
  for (int round = 0; round < 3; ++round) {
    g_handler_runs = 0;
    const double rate = KillsPerSecond();
    std::printf(
        "system=ceiling mode=storm handler=empty kills_per_s=%.0f "
        "handler_runs=%ld\n",
        rate, g_handler_runs.load());
  }
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, nullptr);
  for (int round = 0; round < 3; ++round) {
    std::printf("system=ceiling mode=storm handler=blocked kills_per_s=%.0f\n",
                KillsPerSecond());
  }
  return 0;
}
