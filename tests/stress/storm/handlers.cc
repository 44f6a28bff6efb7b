#include "tests/stress/storm/handlers.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <initializer_list>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace storm {
namespace {

// Constant-initialized (no guard, no constructor run), so a handler may
// count at any time.
HandlerCounts g_counts;

void HostInfo(int signo, siginfo_t*, void*) { Counts().host_calls[signo]++; }
void HostPlain(int signo) { Counts().host_calls[signo]++; }
void CountPortsigEntry(int signo) { Counts().portsig_entries[signo]++; }

void InstallHost(int signo, bool siginfo, int flags,
                 std::initializer_list<int> mask) {
  struct sigaction action = {};
  if (siginfo) {
    action.sa_sigaction = &HostInfo;
    action.sa_flags = SA_SIGINFO | flags;
  } else {
    action.sa_handler = &HostPlain;
    action.sa_flags = flags;
  }
  sigemptyset(&action.sa_mask);
  for (int s : mask) sigaddset(&action.sa_mask, s);
  sigaction(signo, &action, nullptr);
}

// Pseudo-random from an atomic counter: the sender hook runs inside a
// signal handler.
std::atomic<uint64_t> g_fault_counter{0};
uint64_t FaultRandom() {
  uint64_t x = g_fault_counter.fetch_add(1) * 0x9e3779b97f4a7c15u;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9u;
  return x ^ (x >> 32);
}

void DelaySender(int signo) {
  // Runs in the handler: busy-wait only, and let another thread run.
  if (signo < 0 || signo > kMaxSignal) return;
  Counts().committed[signo]++;
  const uint64_t r = FaultRandom();
  if (r % 3 != 0) return;
  Counts().fault_sender_delays++;
  const uint64_t spins = (r >> 8) % 20000;
  for (volatile uint64_t i = 0; i < spins; ++i) {
  }
  if ((r >> 40) % 4 == 0) sched_yield();
}

void PauseDispatcher(int) {
  const uint64_t r = FaultRandom();
  if (r % 4 != 0) return;
  Counts().fault_fanout_pauses++;
  usleep((r >> 8) % 200);
}

void HoldStop(int) {
  const uint64_t r = FaultRandom();
  if (r % 2 != 0) return;
  Counts().fault_stop_holds++;
  usleep((r >> 8) % 400);
}

}  // namespace

HandlerCounts& Counts() { return g_counts; }

void InstallHostDispositions() {
  InstallHost(SIGUSR1, true, SA_RESTART, {SIGTERM});
  InstallHost(SIGUSR2, false, 0, {});
  InstallHost(SIGRTMIN + 1, true, SA_NODEFER, {SIGUSR2, SIGHUP});
  InstallHost(SIGHUP, true, SA_RESTART, {});
  for (int s : {SIGWINCH, SIGURG, SIGCONT, SIGCHLD}) signal(s, SIG_DFL);
  InstallHost(SIGRTMIN + 3, false, SA_RESTART, {SIGUSR1, SIGHUP});
  signal(SIGRTMIN + 4, SIG_IGN);  // As if inherited (nohup).
  for (int i = 0; i < kAtomicStopThreads; ++i) {
    InstallHost(SIGRTMIN + 6 + i, true, SA_RESTART, {});
  }
  InstallHost(ForkSignal(), false, SA_RESTART, {});
}

void CountPortsigEntries() {
  test_hooks::handler_entered.store(&CountPortsigEntry);
}

void InstallFaultHooks() {
  test_hooks::after_wanted_check.store(&DelaySender);
  test_hooks::before_fan_out.store(&PauseDispatcher);
  test_hooks::stop_between_phases.store(&HoldStop);
}

void RemoveFaultHooks() {
  test_hooks::after_wanted_check.store(nullptr);
  test_hooks::before_fan_out.store(nullptr);
  test_hooks::stop_between_phases.store(nullptr);
}

bool RaiseToPortsig(int signo) {
  std::atomic<int64_t>& entries = Counts().portsig_entries[signo];
  const int64_t before = entries.load();
  raise(signo);
  if (!kTsan) return entries.load() != before;
  const absl::Time give_up = absl::Now() + absl::Seconds(1);
  while (entries.load() == before && absl::Now() < give_up) {
    usleep(100);
  }
  if (entries.load() != before) return true;
  Counts().tsan_undelivered++;
  return false;
}

}  // namespace storm
}  // namespace portsig
