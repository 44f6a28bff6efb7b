// The protocol every C++ harness in bench/ speaks (the Go harness,
// bench/go/harness.go, mirrors it), issue 14's: the same flags, the same
// modes, the same timing code, and one machine-readable line per
// measurement on stdout:
//
//   system=portsig backend=posix mode=latency placement=kernel n=20000 ...
//
// The protocol (BENCHMARKS.md says it in prose):
// - A delivery counts when consuming code has it: the consumer (a thread
//   returning from its library's receive call, or an event loop's callback)
//   calls Sink::Bump(), which takes the time then and there. The sender
//   never looks at library internals.
// - The receiving thread is the process's main thread (the thread-group
//   leader, as in a program whose main thread receives) and does not block
//   the signal; the sender is another thread, calling kill(getpid(), ...).
//   Placement::kKernel leaves the choice of the thread that runs a handler
//   to the kernel (Linux picks the leader when it can take the signal);
//   Placement::kForced blocks SIGUSR1 and SIGUSR2 in the receiving threads,
//   so that a handler runs on another thread (the sender).
// - Fan-out counts until every consumer has the signal.
//
// A harness sets up its system's consumer on the main thread and hands the
// sending and timing to the drivers below (they run on the sender thread).
// Modes: placement (where a plain handler runs, no library), latency,
// sparse (latency with a gap between signals longer than any spin budget,
// for the CPU it costs), storm, churn, fanout_loop (1,000 consumers on one
// event loop), fanout_threads (1,000 channels, each with its own receiving
// thread; Go: a goroutine each), fanout_other (SIGUSR2 latency while many
// channels wait on SIGUSR1), memory; "all" runs each that the system
// supports. bench/run.sh runs each mode and placement in its own process.
#ifndef PORTSIG_BENCH_HARNESS_H_
#define PORTSIG_BENCH_HARNESS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace portsig_bench {

// CLOCK_MONOTONIC in nanoseconds.
int64_t NowNs();

// Where the kernel may run a handler for the benchmark's signals.
enum class Placement {
  kKernel,   // Nobody blocks them: the kernel's own choice.
  kForced,   // The receiving threads block them: another thread's handler.
  kBlocked,  // Every thread blocks them (the floors: no handler at all).
};
const char* PlacementName(Placement placement);

struct Options {
  std::string mode = "all";
  std::vector<Placement> placements = {Placement::kKernel, Placement::kForced};
  int latency_iters = 20000;
  int latency_warmup = 1000;
  // sparse: latency with the sender waiting gap_us between signals.
  int sparse_iters = 5000;
  int sparse_gap_us = 200;
  double storm_seconds = 1.0;
  // How long a delivery may take before it counts as lost; also the
  // give-up time of every other wait.
  double timeout_seconds = 1.0;
  double churn_seconds = 0.5;
  int churn_others = 1000;
  std::vector<int> fanout_sizes = {1000};
  int fanout_reps = 200;
  int fanout_warmup = 5;
  int other_waiters = 10000;  // fanout_other: channels on SIGUSR1.
  int other_iters = 2000;
  int other_warmup = 200;
  int memory_channels = 10000;
  int placement_probes = 200;
  // If set, latency mode writes its raw samples (ns, one a line) to
  // samples + "." + placement name + ".ns".
  std::string samples;
};

// Flags: --mode=M, --placement=kernel|forced|both, --quick (fewer
// iterations, for a quick run of the runner), --smoke (tiny, for the
// tests), --samples=PREFIX, --iters=N, --warmup=N, --gap_us=N,
// --fanout=1,10,..., --reps=N (fan-out), --channels=N (memory),
// --churn_others=N. Exits 2 on anything else.
Options ParseOptions(int argc, char** argv);

// Whether `mode` is to run: --mode=all or --mode=`mode`.
bool Wants(const Options& options, const char* mode);

// Exits 2 if --mode names a mode that `supported` (comma list) lacks.
void CheckMode(const Options& options, const char* supported);

// Who is measured: prints lines for one system and backend.
class Reporter {
 public:
  Reporter(std::string system, std::string backend)
      : system_(std::move(system)), backend_(std::move(backend)) {}
  const std::string& system() const { return system_; }
  const std::string& backend() const { return backend_; }

 private:
  std::string system_;
  std::string backend_;
};

// One protocol line. Prints itself when destroyed.
class Line {
 public:
  Line(const std::string& system, const std::string& backend,
       const std::string& mode);
  // system= and backend= from `reporter`, mode=, then placement=.
  Line(const Reporter& reporter, const std::string& mode, Placement placement);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  Line& Add(const std::string& key, int64_t value);
  Line& Add(const std::string& key, double value);
  Line& Add(const std::string& key, const std::string& value);

 private:
  std::string text_;
};

// What a consumer bumps once per delivery it has, from consuming code.
struct Sink {
  std::atomic<uint64_t> count{0};
  // The latest NowNs() any Bump took (a maximum, since many consumer
  // threads may bump at once): when the last of a fan-out's consumers had it.
  std::atomic<int64_t> last_ns{0};
  void Bump() {
    const int64_t now = NowNs();
    int64_t seen = last_ns.load(std::memory_order_relaxed);
    while (seen < now && !last_ns.compare_exchange_weak(
                             seen, now, std::memory_order_relaxed)) {
    }
    count.fetch_add(1, std::memory_order_release);
  }
};

// kill(getpid(), signo).
void SendToSelf(int signo);

// The receiving side and the sender of one measurement. The calling thread
// must be the main thread (exits 1 otherwise): it is the receiving thread.
// With kForced it blocks SIGUSR1 and SIGUSR2 around `receive` (threads it
// starts from `receive` inherit that), with kKernel it unblocks them, with
// kBlocked it leaves its mask alone. A new sender thread, which unblocks
// both for itself unless kBlocked, waits until the receiving thread sleeps
// (in `receive`, presumably), runs `send`, then `stop`, which must make
// `receive` return (typically: set a flag, send one more signal).
void RunPlaced(Placement placement, const std::function<void()>& receive,
               const std::function<void()>& send,
               const std::function<void()>& stop);

// RunPlaced with a receiving loop on this thread: each time `receive_one()`
// returns true (a signal was taken) `sink` is bumped, until `send` has run;
// then a flag and one more `signo` end the loop. A template, so that the
// receive is inlined into the measured loop as when each harness wrote the
// loop itself.
template <typename ReceiveOne>
void ReceiveLoopPlaced(Placement placement, int signo, Sink& sink,
                       ReceiveOne receive_one,
                       const std::function<void()>& send) {
  std::atomic<bool> stop{false};
  RunPlaced(
      placement,
      [&] {
        for (;;) {
          if (!receive_one()) continue;
          if (stop.load(std::memory_order_acquire)) return;
          sink.Bump();
        }
      },
      send,
      [&] {
        stop.store(true, std::memory_order_release);
        SendToSelf(signo);
      });
}

// The drivers, called on the sender thread from RunPlaced's `send`.
//
// Latency: per sample, t0, kill(getpid(), signo), spin until sink.count
// moves; the sample is the consumer's own time minus t0. `iters` samples
// after `warmup`, with the sender spinning `gap_us` between signals. Prints
// mode=`mode` placement=... with p50/p90/p99/max, timeouts, and
// recv_cpu_ns_per_signal: the CPU time of every thread but the sender
// (CLOCK_PROCESS_CPUTIME_ID minus the sender's CLOCK_THREAD_CPUTIME_ID)
// over the measured signals, divided by their number; writes samples if
// `dump` and --samples.
struct LatencySpec {
  std::string mode = "latency";
  int signo = 0;  // SIGUSR1 if 0.
  int iters = 0;
  int warmup = 0;
  int gap_us = 0;
  bool dump = false;
  std::string extra_key;  // Printed before n= when set.
  int64_t extra_value = 0;
};
void RunLatency(const Options& options, const Reporter& reporter,
                Placement placement, Sink& sink, const LatencySpec& spec);

// The specs of the modes every harness runs the same way, from `options`:
// latency (samples dumped), sparse (a tenth of the iterations as warm-up,
// gap_us apart) and fanout_other (SIGUSR2; extra_key "waiters", whose value
// the caller sets).
LatencySpec LatencyModeSpec(const Options& options);
LatencySpec SparseModeSpec(const Options& options);
LatencySpec FanoutOtherModeSpec(const Options& options);

// Storm: kill(getpid(), SIGUSR1) in a tight loop for storm_seconds, then
// one last kill, then waits up to timeout_seconds for a consumer to have a
// delivery after the instant just before that kill (final_lost=0) or not
// (final_lost=1). Rates count the tight loop only; recv_cpu_ns_per_delivery
// as in RunLatency, over the loop.
void RunStorm(const Options& options, const Reporter& reporter,
              Placement placement, Sink& sink);

// Fan-out to n consumers of SIGUSR1: per rep, t0, kill, spin until the sink
// has moved by n; the rep's figure is the last consumer's time minus t0.
// Prints mode=`mode` placement=... channels=n with all_ percentiles and
// timeouts.
void RunFanout(const Options& options, const Reporter& reporter,
               Placement placement, int n, Sink& sink, const std::string& mode);

// Churn: runs pair() (one subscribe + unsubscribe) for churn_seconds on
// the calling thread and prints pairs_per_s with others=`others`. No
// signal is sent, so no placement.
void RunChurn(const Options& options, const Reporter& reporter, int others,
              const std::function<void()>& pair);

// Placement probe, no library: a plain SA_SIGINFO handler on SIGUSR1
// records the thread it runs on while the main thread sleeps in a
// condition variable wait and another thread sends placement_probes
// signals, one at a time.
// Prints mode=placement with how many ran on the receiving (main) thread,
// on the sender, elsewhere. Says what "kernel" placement means on this
// kernel for the thread layout of every harness.
void RunPlacementProbe(const Options& options, const Reporter& reporter,
                       Placement placement);

// Process memory: resident bytes (/proc/self/statm), heap bytes in use
// (mallinfo2), open descriptors (/proc/self/fd).
struct MemorySnapshot {
  int64_t rss_bytes = 0;
  int64_t heap_bytes = 0;
  int64_t fds = 0;
};
MemorySnapshot TakeMemorySnapshot();

// Prints mode=memory: per-channel heap and RSS growth between `before` and
// `after` (n channels registered in between), the footprint since
// `at_start` (main's first line), and descriptor counts.
void ReportMemory(const Reporter& reporter, int n,
                  const MemorySnapshot& at_start, const MemorySnapshot& before,
                  const MemorySnapshot& after);

}  // namespace portsig_bench

#endif  // PORTSIG_BENCH_HARNESS_H_
