#include "bench/harness.h"

#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace portsig_bench {
namespace {

void Usage(const char* program, const std::string& bad) {
  fprintf(stderr,
          "%s: bad flag '%s'\n"
          "flags: --mode=all|latency|storm|churn|fanout|fanout_other|memory"
          "|fanout_epoll "
          "--quick --smoke --samples=FILE --iters=N --warmup=N "
          "--fanout=1,10,... --channels=N --churn_others=N\n",
          program, bad.c_str());
  exit(2);
}

int64_t ParseInt(const char* program, const std::string& flag,
                 const std::string& text) {
  char* end = nullptr;
  long long value = strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 0) Usage(program, flag);
  return value;
}

// Nearest-rank percentile of sorted values.
int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return -1;
  size_t rank = static_cast<size_t>(q * sorted.size() + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return sorted[rank - 1];
}

void AddPercentiles(Line& line, const std::string& prefix,
                    std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  line.Add(prefix + "p50_ns", Percentile(values, 0.50))
      .Add(prefix + "p90_ns", Percentile(values, 0.90))
      .Add(prefix + "p99_ns", Percentile(values, 0.99))
      .Add(prefix + "max_ns", values.empty() ? int64_t{-1} : values.back());
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int64_t TimeoutNs(const Options& options) {
  return static_cast<int64_t>(options.timeout_seconds * 1e9);
}

}  // namespace

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string key = arg, value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (key == "--mode") {
      o.mode = value;
    } else if (arg == "--quick") {
      o.latency_iters = 2000;
      o.latency_warmup = 200;
      o.storm_seconds = 0.25;
      o.churn_seconds = 0.1;
      o.fanout_sizes = {1, 100, 1000, 10000};
      o.fanout_reps = 20;
      o.fanout_reps_large = 5;
      o.other_iters = 300;
      o.other_warmup = 30;
    } else if (arg == "--smoke") {
      o.latency_iters = 20;
      o.latency_warmup = 2;
      o.storm_seconds = 0.02;
      o.churn_seconds = 0.01;
      o.churn_others = 10;
      o.fanout_sizes = {1, 10};
      o.fanout_reps = 3;
      o.fanout_reps_large = 1;
      o.other_waiters = 20;
      o.other_iters = 10;
      o.other_warmup = 2;
      o.memory_channels = 50;
    } else if (key == "--samples") {
      o.samples = value;
    } else if (key == "--iters") {
      o.latency_iters = ParseInt(argv[0], arg, value);
    } else if (key == "--warmup") {
      o.latency_warmup = ParseInt(argv[0], arg, value);
    } else if (key == "--churn_others") {
      o.churn_others = ParseInt(argv[0], arg, value);
    } else if (key == "--channels") {
      o.memory_channels = ParseInt(argv[0], arg, value);
    } else if (key == "--fanout") {
      o.fanout_sizes.clear();
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        o.fanout_sizes.push_back(
            ParseInt(argv[0], arg, value.substr(start, comma - start)));
        start = comma + 1;
      }
    } else {
      Usage(argv[0], arg);
    }
  }
  return o;
}

bool Wants(const Options& options, const char* mode) {
  return options.mode == "all" || options.mode == mode;
}

void CheckMode(const Options& options, const char* supported) {
  if (options.mode == "all") return;
  std::string list = std::string(",") + supported + ",";
  if (list.find("," + options.mode + ",") == std::string::npos) {
    fprintf(stderr, "mode '%s' not supported here (have: %s)\n",
            options.mode.c_str(), supported);
    exit(2);
  }
}

Line::Line(const std::string& system, const std::string& backend,
           const std::string& mode)
    : text_("system=" + system + " backend=" + backend + " mode=" + mode) {}

Line::~Line() {
  printf("%s\n", text_.c_str());
  fflush(stdout);
}

Line& Line::Add(const std::string& key, int64_t value) {
  text_ += " " + key + "=" + std::to_string(value);
  return *this;
}

Line& Line::Add(const std::string& key, double value) {
  char buffer[64];
  snprintf(buffer, sizeof(buffer), "%.1f", value);
  text_ += " " + key + "=" + buffer;
  return *this;
}

Line& Line::Add(const std::string& key, const std::string& value) {
  text_ += " " + key + "=" + value;
  return *this;
}

void SendToSelf(int signo) {
  static const pid_t pid = getpid();
  kill(pid, signo);
}

namespace {
// CPU time of the whole process minus the calling thread's.
int64_t OtherThreadsCpuNs() {
  struct timespec process, self;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &self);
  return (process.tv_sec - self.tv_sec) * 1000000000LL +
         (process.tv_nsec - self.tv_nsec);
}
}  // namespace

void RunLatency(const Options& options, const Reporter& reporter, Sink& sink,
                const std::string& mode, int signo, int iters, int warmup,
                bool dump, const std::string& extra_key, int64_t extra_value) {
  std::vector<int64_t> samples;
  samples.reserve(iters);
  const int64_t timeout = TimeoutNs(options);
  int64_t timeouts = 0;
  int64_t others_cpu_start = 0;
  for (int i = 0; i < warmup + iters; ++i) {
    if (i == warmup) others_cpu_start = OtherThreadsCpuNs();
    const uint64_t base = sink.count.load(std::memory_order_acquire);
    const int64_t t0 = NowNs();
    SendToSelf(signo);
    bool timed_out = false;
    for (uint32_t spins = 1; sink.count.load(std::memory_order_acquire) == base;
         ++spins) {
      CpuRelax();
      if ((spins & 1023) == 0 && NowNs() - t0 > timeout) {
        timed_out = true;
        break;
      }
    }
    const int64_t t1 = NowNs();
    if (timed_out) {
      ++timeouts;
    } else if (i >= warmup) {
      samples.push_back(t1 - t0);
    }
  }
  if (dump && !options.samples.empty()) {
    std::ofstream out(options.samples);
    for (int64_t s : samples) out << s << '\n';
  }
  const int64_t others_cpu = OtherThreadsCpuNs() - others_cpu_start;
  Line line(reporter.system(), reporter.backend(), mode);
  if (!extra_key.empty()) line.Add(extra_key, extra_value);
  line.Add("n", static_cast<int64_t>(samples.size()));
  AddPercentiles(line, "", samples);
  line.Add("timeouts", timeouts);
  // What receiving costs in CPU, spinning included: every thread but the
  // sender (whose own spin-wait is the same for every system).
  if (iters > 0) line.Add("recv_cpu_ns_per_signal", others_cpu / iters);
}

void RunStorm(const Options& options, const Reporter& reporter, Sink& sink) {
  const uint64_t start_count = sink.count.load(std::memory_order_acquire);
  const int64_t start = NowNs();
  const int64_t end = start + static_cast<int64_t>(options.storm_seconds * 1e9);
  int64_t kills = 0;
  int64_t now;
  do {
    for (int j = 0; j < 64; ++j) SendToSelf(SIGUSR1);
    kills += 64;
    now = NowNs();
  } while (now < end);
  // The last kill, timed from just before it: a delivery taken after this
  // instant includes it (a pending signal coalesces, it never goes stale).
  const int64_t last_kill = NowNs();
  SendToSelf(SIGUSR1);
  ++kills;
  const uint64_t end_count = sink.count.load(std::memory_order_acquire);
  const double seconds = (now - start) / 1e9;
  int64_t lost = 1;
  int64_t final_wait = -1;
  for (int64_t t = NowNs(); t - last_kill < TimeoutNs(options); t = NowNs()) {
    if (sink.last_ns.load(std::memory_order_relaxed) > last_kill) {
      lost = 0;
      final_wait = t - last_kill;
      break;
    }
    CpuRelax();
  }
  Line(reporter.system(), reporter.backend(), "storm")
      .Add("seconds", seconds)
      .Add("kills", kills)
      .Add("kills_per_s", kills / seconds)
      .Add("deliveries", static_cast<int64_t>(end_count - start_count))
      .Add("deliveries_per_s", (end_count - start_count) / seconds)
      .Add("final_lost", lost)
      .Add("final_wait_ns", final_wait);
}

void RunChurn(const Options& options, const Reporter& reporter, int others,
              const std::function<void()>& pair) {
  for (int i = 0; i < 16; ++i) pair();  // Warm-up.
  const int64_t start = NowNs();
  const int64_t length = static_cast<int64_t>(options.churn_seconds * 1e9);
  int64_t pairs = 0;
  int64_t now;
  do {
    for (int j = 0; j < 16; ++j) pair();
    pairs += 16;
    now = NowNs();
  } while (now - start < length);
  const double seconds = (now - start) / 1e9;
  Line(reporter.system(), reporter.backend(), "churn")
      .Add("others", static_cast<int64_t>(others))
      .Add("pairs", pairs)
      .Add("pairs_per_s", pairs / seconds);
}

void RunFanout(const Options& options, const Reporter& reporter, int n,
               const std::function<void()>& arm,
               const std::function<int64_t()>& held, const std::string& mode) {
  const int reps = n <= 1000 ? options.fanout_reps : options.fanout_reps_large;
  const int warmup = 2;
  const int64_t timeout = TimeoutNs(options);
  std::vector<int64_t> firsts, alls;
  int64_t timeouts = 0;
  for (int rep = 0; rep < warmup + reps; ++rep) {
    arm();
    const int64_t t0 = NowNs();
    SendToSelf(SIGUSR1);
    int64_t first = -1, all = -1;
    for (;;) {
      const int64_t got = held();
      const int64_t t = NowNs();
      if (first < 0 && got > 0) first = t - t0;
      if (got >= n) {
        all = t - t0;
        break;
      }
      if (t - t0 > timeout) break;
    }
    if (all < 0) {
      fprintf(stderr, "%s %s channels=%d: rep %d timed out, %lld held\n",
              reporter.system().c_str(), mode.c_str(), n, rep,
              static_cast<long long>(held()));
      // Give up on this size after three misses: a system that loses
      // deliveries would otherwise spend a second on every rep.
      if (++timeouts >= 3) break;
      continue;
    }
    if (rep >= warmup) {
      firsts.push_back(first);
      alls.push_back(all);
    }
  }
  Line line(reporter.system(), reporter.backend(), mode);
  line.Add("channels", static_cast<int64_t>(n))
      .Add("n", static_cast<int64_t>(alls.size()));
  AddPercentiles(line, "first_", firsts);
  AddPercentiles(line, "all_", alls);
  line.Add("timeouts", timeouts);
}

void RunFanoutCounted(const Options& options, const Reporter& reporter, int n,
                      Sink& sink, const std::string& mode) {
  uint64_t base = 0;
  RunFanout(
      options, reporter, n,
      [&] { base = sink.count.load(std::memory_order_acquire); },
      [&] {
        return static_cast<int64_t>(sink.count.load(std::memory_order_acquire) -
                                    base);
      },
      mode);
}

MemorySnapshot TakeMemorySnapshot() {
  MemorySnapshot m;
  if (FILE* f = fopen("/proc/self/statm", "r")) {
    long long size = 0, resident = 0;
    if (fscanf(f, "%lld %lld", &size, &resident) == 2) {
      m.rss_bytes = resident * sysconf(_SC_PAGESIZE);
    }
    fclose(f);
  }
  struct mallinfo2 info = mallinfo2();
  m.heap_bytes = static_cast<int64_t>(info.uordblks + info.hblkhd);
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++m.fds;
    }
    closedir(dir);
    --m.fds;  // The directory's own descriptor.
  }
  return m;
}

void ReportMemory(const Reporter& reporter, int n,
                  const MemorySnapshot& at_start, const MemorySnapshot& before,
                  const MemorySnapshot& after) {
  Line(reporter.system(), reporter.backend(), "memory")
      .Add("channels", static_cast<int64_t>(n))
      .Add("heap_per_channel_bytes",
           static_cast<double>(after.heap_bytes - before.heap_bytes) / n)
      .Add("rss_per_channel_bytes",
           static_cast<double>(after.rss_bytes - before.rss_bytes) / n)
      .Add("footprint_bytes", after.rss_bytes - at_start.rss_bytes)
      .Add("rss_bytes", after.rss_bytes)
      .Add("fds_before", at_start.fds)
      .Add("fds_after", after.fds);
}

}  // namespace portsig_bench
