// The protocol every C++ harness in bench/ speaks (the Go harness,
// bench/go/harness.go, mirrors it): the same flags, the same modes, and one
// machine-readable line per measurement on stdout:
//
//   system=portsig backend=posix mode=latency n=20000 p50_ns=... p99_ns=...
//
// A harness sets up its system's normal consumer, which calls Sink::Bump()
// once per delivery, and hands the measuring to the drivers below, so every
// system is timed by the same code. Modes (issue 7): latency, storm, churn,
// fanout, fanout_other (SIGUSR2 latency while many channels wait on
// SIGUSR1), memory, and for portsig fanout_epoll (fan-out to consumers on
// one epoll loop, like the libuv and Asio consumers); "all" runs each that the
// system supports, memory first (it wants a fresh process). bench/run.sh runs
// each mode in its own process.
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

struct Options {
  std::string mode = "all";
  int latency_iters = 20000;
  int latency_warmup = 1000;
  double storm_seconds = 1.0;
  // How long a storm's last signal may take to arrive before it counts as
  // lost; also the give-up time of every other wait.
  double timeout_seconds = 1.0;
  double churn_seconds = 0.5;
  int churn_others = 1000;
  std::vector<int> fanout_sizes = {1, 10, 100, 1000, 10000};
  int fanout_reps = 200;       // For sizes up to 1,000.
  int fanout_reps_large = 50;  // For larger sizes.
  int other_waiters = 10000;   // fanout_other: channels on SIGUSR1.
  int other_iters = 2000;
  int other_warmup = 200;
  int memory_channels = 10000;
  // If set, latency mode writes its raw samples here, one ns value a line.
  std::string samples;
};

// Flags: --mode=M, --quick (fewer iterations, for smoke runs of the
// runner), --smoke (tiny, for the tests), --samples=FILE, --iters=N,
// --warmup=N, --fanout=1,10,..., --channels=N (memory), --churn_others=N.
// Exits 2 on anything else.
Options ParseOptions(int argc, char** argv);

// Whether `mode` is to run: --mode=all or --mode=`mode`.
bool Wants(const Options& options, const char* mode);

// Exits 2 if --mode names a mode that `supported` (comma list) lacks.
void CheckMode(const Options& options, const char* supported);

// One protocol line. Prints itself when destroyed.
class Line {
 public:
  Line(const std::string& system, const std::string& backend,
       const std::string& mode);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  Line& Add(const std::string& key, int64_t value);
  Line& Add(const std::string& key, double value);
  Line& Add(const std::string& key, const std::string& value);

 private:
  std::string text_;
};

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

// What a consumer bumps once per delivery.
struct Sink {
  std::atomic<uint64_t> count{0};
  // NowNs() of the latest delivery, for the storm's lost-last-signal check.
  std::atomic<int64_t> last_ns{0};
  void Bump() {
    last_ns.store(NowNs(), std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_release);
  }
};

// kill(getpid(), signo).
void SendToSelf(int signo);

// Latency: t0, kill(getpid(), signo), spin until sink.count moves, t1;
// `iters` samples after `warmup`. Prints mode=`mode` with p50/p90/p99/max
// and `extra_key`=`extra_value` if given; writes samples if asked and
// `dump` is set.
void RunLatency(const Options& options, const Reporter& reporter, Sink& sink,
                const std::string& mode, int signo, int iters, int warmup,
                bool dump, const std::string& extra_key = "",
                int64_t extra_value = 0);

// Storm: kill(getpid(), SIGUSR1) in a tight loop for storm_seconds, then
// one last kill, then waits up to timeout_seconds for a consumer to take a
// delivery after the instant just before that kill (final_lost=0) or not
// (final_lost=1). Rates count the tight loop only.
void RunStorm(const Options& options, const Reporter& reporter, Sink& sink);

// Churn: runs pair() (one subscribe + unsubscribe) for churn_seconds and
// prints pairs_per_s with others=`others`.
void RunChurn(const Options& options, const Reporter& reporter, int others,
              const std::function<void()>& pair);

// Fan-out to n channels: per rep, arm() (untimed), t0, kill SIGUSR1, spin
// on held() (how many channels hold the signal now) until it is >0 (first)
// and == n (all). Prints mode=`mode` with first/all percentiles and
// timeouts.
void RunFanout(const Options& options, const Reporter& reporter, int n,
               const std::function<void()>& arm,
               const std::function<int64_t()>& held,
               const std::string& mode = "fanout");

// RunFanout with held() = sink.count moved since arm.
void RunFanoutCounted(const Options& options, const Reporter& reporter, int n,
                      Sink& sink, const std::string& mode = "fanout");

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
