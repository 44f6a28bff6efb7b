// Microbenchmarks of portsig's hot internals (Google Benchmark): one
// backend send/receive hand-off, a Notify+Stop pair, Signal parsing, one
// real signal from kill() to Receive(), and the delivery metadata parts.
// Figures and the command that produced them are in BENCHMARKS.md. These
// run on one thread with no real signals; end-to-end latency against other
// libraries is a separate harness.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <memory>

#include "benchmark/benchmark.h"
#include "os_signal/signal.h"
#ifndef PORTSIG_BENCH_BASELINE
#include "platform/latest_record.h"
#include "platform/record_ring.h"
#endif
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
// the same signal (so the handler stays installed), or none: then the
// handler lingers for the restore delay (Options::restore_delay), unless
// `range(1)` is 0, when each pair installs and restores the sigaction.
// `range(2)`: whether this thread blocks the signal. A thread that does
// makes portsig's mask thread open it on Notify and block it again on Stop
// (runtime/mask_thread.h), two round trips to that thread per pair; one
// that does not leaves the mask alone while the handler lingers. (Before
// this argument, the pairs ran blocked only because BM_SendReceive leaves
// every signal blocked.)
void BM_NotifyStop(benchmark::State& state) {
  sigset_t usr1, saved_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(state.range(2) ? SIG_BLOCK : SIG_UNBLOCK, &usr1, &saved_mask);
  const Options before = CurrentOptions();
  Options no_delay;
  no_delay.restore_delay = absl::ZeroDuration();
  if (state.range(1) == 0 && !Configure(no_delay).ok()) {
    state.SkipWithError("restore delay");
  }
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
  Options restore;
  restore.restore_delay = before.restore_delay;
  (void)Configure(restore);
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
}
BENCHMARK(BM_NotifyStop)
    ->ArgNames({"others", "delay", "blocked"})
    ->Args({0, 1, 0})
    ->Args({0, 1, 1})
    ->Args({0, 0, 0})
    ->Args({0, 0, 1})
    ->Args({1000, 1, 0});

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

void UnblockSigusr1() {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
}

// One real signal end to end on an idle process: kill() to self, the
// handler, the dispatcher's wake-up and fan-out, and this thread's
// Receive() waking up. Builds against the pre-metadata tree too (see
// BENCHMARKS.md), which is how "metadata off" is measured.
//
// Linux runs the handler on the sending thread when it can take the
// signal, before kill() returns; the dispatcher (started by an earlier
// benchmark with every signal blocked) then wakes this thread up.
template <typename Receive>
void KillTo(benchmark::State& state, Receive receive) {
  UnblockSigusr1();
  SignalChannel ch(1);
  if (!Notify(ch, {SIGUSR1}).ok()) state.SkipWithError("notify");
  for (auto _ : state) {
    kill(getpid(), SIGUSR1);
    benchmark::DoNotOptimize(receive(ch));
  }
  Stop(ch);
}

void BM_KillToReceive(benchmark::State& state) {
  KillTo(state, [](SignalChannel& ch) { return ch.Receive(); });
}
BENCHMARK(BM_KillToReceive)->UseRealTime();

#ifndef PORTSIG_BENCH_BASELINE
// The same, reading the whole Delivery (sender, code, count).
void BM_KillToReceiveDelivery(benchmark::State& state) {
  KillTo(state, [](SignalChannel& ch) { return ch.ReceiveDelivery(); });
}
BENCHMARK(BM_KillToReceiveDelivery)->UseRealTime();

// The handler's metadata cost alone: publish one record into a signal's
// seqlock slot and take it back.
void BM_LatestRecordPublishTake(benchmark::State& state) {
  platform::LatestRecord latest;
  platform::SignalRecord record;
  record.pid = 42;
  platform::SignalRecord taken;
  for (auto _ : state) {
    latest.Publish(record);
    benchmark::DoNotOptimize(latest.Take(&taken));
  }
}
BENCHMARK(BM_LatestRecordPublishTake);

// What real-time queue mode adds to a send and its receive: one record
// through the signal's ring (the backend's wake-up comes on top).
void BM_RecordRingPushPop(benchmark::State& state) {
  auto ring = std::make_unique<platform::RecordRing>();
  ring->set_capacity(64);
  platform::SignalRecord record;
  record.pid = 42;
  platform::SignalRecord popped;
  for (auto _ : state) {
    ring->Push(record);
    benchmark::DoNotOptimize(ring->Pop(&popped));
  }
}
BENCHMARK(BM_RecordRingPushPop);

#endif  // PORTSIG_BENCH_BASELINE

}  // namespace
}  // namespace portsig
