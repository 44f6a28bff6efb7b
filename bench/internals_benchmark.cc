// Microbenchmarks of portsig's hot internals (Google Benchmark): one
// backend send/receive hand-off, a Notify+Stop pair, and Signal parsing.
// Figures and the command that produced them are in BENCHMARKS.md. These
// run on one thread with no real signals; end-to-end latency against other
// libraries is a separate harness.
#include <pthread.h>
#include <signal.h>

#include <memory>

#include "benchmark/benchmark.h"
#include "os_signal/signal.h"
#include "platform/sigqueue.h"

namespace portsig {
namespace {

// Send() then Receive() on the same thread: the cost of one hand-off
// through the queue when the receiver does not have to sleep.
void BM_SendReceive(benchmark::State& state, const char* backend) {
  // The note backend's senders must not be interruptible (sigqueue.h).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  auto queue = platform::NewSigQueue(backend);
  (*queue)->Enable(SIGUSR1);
  platform::QueuedSignal received;
  for (auto _ : state) {
    (*queue)->Send(SIGUSR1);
    (*queue)->Receive(&received);
    benchmark::DoNotOptimize(received.signo);
  }
}
BENCHMARK_CAPTURE(BM_SendReceive, posix, "posix");
BENCHMARK_CAPTURE(BM_SendReceive, note, "note");

// Notify+Stop of one channel, with `range(0)` other channels subscribed to
// the same signal (so the handler stays installed) or none (so each pair
// installs and restores the sigaction).
void BM_NotifyStop(benchmark::State& state) {
  std::vector<std::unique_ptr<SignalChannel>> others;
  for (int i = 0; i < state.range(0); ++i) {
    others.push_back(std::make_unique<SignalChannel>(1));
    if (!Notify(*others.back(), {SIGUSR1}).ok()) state.SkipWithError("notify");
  }
  SignalChannel ch(1);
  for (auto _ : state) {
    if (!Notify(ch, {SIGUSR1}).ok()) state.SkipWithError("notify");
    Stop(ch);
  }
  for (auto& other : others) Stop(*other);
}
BENCHMARK(BM_NotifyStop)->Arg(0)->Arg(1000);

void BM_SignalParse(benchmark::State& state) {
  for (auto _ : state) {
    auto a = Signal::Parse("SIGINT");
    auto b = Signal::Parse("interrupt");
    auto c = Signal::Parse("15");
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_SignalParse);

}  // namespace
}  // namespace portsig
