#include "bench/harness.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

namespace portsig_bench {
namespace {

void Usage(const char* program, const std::string& bad) {
  fprintf(stderr,
          "%s: bad flag '%s'\n"
          "flags: --mode=all|placement|latency|sparse|storm|churn"
          "|fanout_loop|fanout_threads|fanout_other|memory "
          "--placement=kernel|forced|both --quick --smoke --samples=PREFIX "
          "--iters=N --warmup=N --gap_us=N --fanout=1,10,... --reps=N "
          "--channels=N --churn_others=N\n",
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
    } else if (key == "--placement") {
      if (value == "kernel") {
        o.placements = {Placement::kKernel};
      } else if (value == "forced") {
        o.placements = {Placement::kForced};
      } else if (value == "both") {
        o.placements = {Placement::kKernel, Placement::kForced};
      } else {
        Usage(argv[0], arg);
      }
    } else if (arg == "--quick") {
      o.latency_iters = 2000;
      o.latency_warmup = 200;
      o.sparse_iters = 500;
      o.storm_seconds = 0.25;
      o.churn_seconds = 0.1;
      o.fanout_reps = 30;
      o.other_iters = 300;
      o.other_warmup = 30;
      o.placement_probes = 50;
    } else if (arg == "--smoke") {
      o.latency_iters = 20;
      o.latency_warmup = 2;
      o.sparse_iters = 10;
      o.sparse_gap_us = 50;
      o.storm_seconds = 0.02;
      o.churn_seconds = 0.01;
      o.churn_others = 10;
      o.fanout_sizes = {10};
      o.fanout_reps = 3;
      o.fanout_warmup = 1;
      o.other_waiters = 20;
      o.other_iters = 10;
      o.other_warmup = 2;
      o.memory_channels = 50;
      o.placement_probes = 10;
      // A hang detector here, not a timing: the machine may be loaded.
      o.timeout_seconds = 10;
    } else if (key == "--samples") {
      o.samples = value;
    } else if (key == "--iters") {
      o.latency_iters = ParseInt(argv[0], arg, value);
    } else if (key == "--warmup") {
      o.latency_warmup = ParseInt(argv[0], arg, value);
    } else if (key == "--gap_us") {
      o.sparse_gap_us = ParseInt(argv[0], arg, value);
    } else if (key == "--reps") {
      o.fanout_reps = ParseInt(argv[0], arg, value);
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

Line::Line(const Reporter& reporter, const std::string& mode,
           Placement placement)
    : Line(reporter.system(), reporter.backend(), mode) {
  Add("placement", std::string(PlacementName(placement)));
}

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

const char* PlacementName(Placement placement) {
  switch (placement) {
    case Placement::kKernel:
      return "kernel";
    case Placement::kForced:
      return "forced";
    case Placement::kBlocked:
      return "blocked";
  }
  return "?";
}

namespace {

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// CPU time of every thread but the calling one (the sender), since Start.
class OthersCpu {
 public:
  void Start() {
    process_ = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
    self_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  }
  int64_t Elapsed() const {
    return (ClockNs(CLOCK_PROCESS_CPUTIME_ID) - process_) -
           (ClockNs(CLOCK_THREAD_CPUTIME_ID) - self_);
  }

 private:
  int64_t process_ = 0;
  int64_t self_ = 0;
};

void UserSignals(sigset_t* set) {
  sigemptyset(set);
  sigaddset(set, SIGUSR1);
  sigaddset(set, SIGUSR2);
}

// Waits until thread `tid` of this process sleeps (state S in
// /proc/self/task/TID/stat), up to `timeout_ns`. A signal sent while the
// receiving thread is still starting up can find it inside pthread_create,
// which blocks every signal for a moment, and then the kernel picks another
// thread: not the placement being measured.
void WaitUntilAsleep(pid_t tid, int64_t timeout_ns) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  const int64_t start = NowNs();
  while (NowNs() - start < timeout_ns) {
    std::ifstream in(path);
    std::string stat;
    std::getline(in, stat);
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() &&
        stat[paren + 2] == 'S') {
      return;
    }
    std::this_thread::yield();
  }
  fprintf(stderr, "RunPlaced: the receiving thread never slept\n");
}

}  // namespace

void RunPlaced(Placement placement, const std::function<void()>& receive,
               const std::function<void()>& send,
               const std::function<void()>& stop) {
  if (getpid() != static_cast<pid_t>(syscall(SYS_gettid))) {
    // The kernel's choice of a thread for kill(getpid()) starts with the
    // thread-group leader: the receiving thread must be it.
    fprintf(stderr, "RunPlaced: not on the main thread\n");
    exit(1);
  }
  sigset_t signals, saved;
  UserSignals(&signals);
  pthread_sigmask(SIG_BLOCK, nullptr, &saved);
  if (placement == Placement::kForced) {
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  } else if (placement == Placement::kKernel) {
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  }
  const pid_t receiver = getpid();
  std::thread sender([&] {
    if (placement != Placement::kBlocked) {
      pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
    }
    WaitUntilAsleep(receiver, int64_t{10} * 1000000000);
    send();
    stop();
  });
  receive();
  sender.join();
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

LatencySpec LatencyModeSpec(const Options& options) {
  LatencySpec spec;
  spec.iters = options.latency_iters;
  spec.warmup = options.latency_warmup;
  spec.dump = true;
  return spec;
}

LatencySpec SparseModeSpec(const Options& options) {
  LatencySpec spec;
  spec.mode = "sparse";
  spec.iters = options.sparse_iters;
  spec.warmup = options.sparse_iters / 10;
  spec.gap_us = options.sparse_gap_us;
  return spec;
}

LatencySpec FanoutOtherModeSpec(const Options& options) {
  LatencySpec spec;
  spec.mode = "fanout_other";
  spec.signo = SIGUSR2;
  spec.iters = options.other_iters;
  spec.warmup = options.other_warmup;
  spec.extra_key = "waiters";
  return spec;
}

void RunLatency(const Options& options, const Reporter& reporter,
                Placement placement, Sink& sink, const LatencySpec& spec) {
  const int signo = spec.signo != 0 ? spec.signo : SIGUSR1;
  std::vector<int64_t> samples;
  samples.reserve(spec.iters);
  const int64_t timeout = TimeoutNs(options);
  const int64_t gap = int64_t{spec.gap_us} * 1000;
  int64_t timeouts = 0;
  OthersCpu cpu;
  int64_t previous = NowNs();
  for (int i = 0; i < spec.warmup + spec.iters; ++i) {
    if (i == spec.warmup) cpu.Start();
    while (NowNs() - previous < gap) CpuRelax();
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
    previous = NowNs();
    if (timed_out) {
      ++timeouts;
    } else if (i >= spec.warmup) {
      samples.push_back(sink.last_ns.load(std::memory_order_relaxed) - t0);
    }
  }
  const int64_t others_cpu = cpu.Elapsed();
  if (spec.dump && !options.samples.empty()) {
    std::ofstream out(options.samples + "." + PlacementName(placement) + ".ns");
    for (int64_t s : samples) out << s << '\n';
  }
  Line line(reporter, spec.mode, placement);
  if (!spec.extra_key.empty()) line.Add(spec.extra_key, spec.extra_value);
  if (spec.gap_us > 0) line.Add("gap_us", int64_t{spec.gap_us});
  line.Add("n", static_cast<int64_t>(samples.size()));
  AddPercentiles(line, "", samples);
  line.Add("timeouts", timeouts);
  if (spec.iters > 0)
    line.Add("recv_cpu_ns_per_signal", others_cpu / spec.iters);
}

void RunStorm(const Options& options, const Reporter& reporter,
              Placement placement, Sink& sink) {
  OthersCpu cpu;
  cpu.Start();
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
  const uint64_t end_count = sink.count.load(std::memory_order_acquire);
  const int64_t others_cpu = cpu.Elapsed();
  // The last kill, timed from just before it: a delivery a consumer has
  // after this instant includes it (a pending signal coalesces, it never
  // goes stale).
  const int64_t last_kill = NowNs();
  SendToSelf(SIGUSR1);
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
  const int64_t deliveries = static_cast<int64_t>(end_count - start_count);
  Line(reporter, "storm", placement)
      .Add("seconds", seconds)
      .Add("kills", kills)
      .Add("kills_per_s", kills / seconds)
      .Add("deliveries", deliveries)
      .Add("deliveries_per_s", deliveries / seconds)
      .Add("recv_cpu_ns_per_delivery",
           deliveries > 0 ? others_cpu / deliveries : int64_t{-1})
      .Add("final_lost", lost)
      .Add("final_wait_ns", final_wait);
}

void RunFanout(const Options& options, const Reporter& reporter,
               Placement placement, int n, Sink& sink,
               const std::string& mode) {
  const int64_t timeout = TimeoutNs(options);
  std::vector<int64_t> alls;
  int64_t timeouts = 0;
  for (int rep = 0; rep < options.fanout_warmup + options.fanout_reps; ++rep) {
    const uint64_t base = sink.count.load(std::memory_order_acquire);
    const int64_t t0 = NowNs();
    SendToSelf(SIGUSR1);
    bool done = false;
    for (uint32_t spins = 1;; ++spins) {
      if (sink.count.load(std::memory_order_acquire) - base >=
          static_cast<uint64_t>(n)) {
        done = true;
        break;
      }
      CpuRelax();
      if ((spins & 1023) == 0 && NowNs() - t0 > timeout) break;
    }
    if (!done) {
      fprintf(stderr, "%s %s channels=%d: rep %d timed out, %llu of %d\n",
              reporter.system().c_str(), mode.c_str(), n, rep,
              static_cast<unsigned long long>(
                  sink.count.load(std::memory_order_acquire) - base),
              n);
      // Give up on this size after three misses: a system that loses
      // deliveries would otherwise spend a second on every rep.
      if (++timeouts >= 3) break;
      continue;
    }
    if (rep >= options.fanout_warmup) {
      alls.push_back(sink.last_ns.load(std::memory_order_relaxed) - t0);
    }
  }
  Line line(reporter, mode, placement);
  line.Add("channels", static_cast<int64_t>(n))
      .Add("n", static_cast<int64_t>(alls.size()));
  AddPercentiles(line, "all_", alls);
  line.Add("timeouts", timeouts);
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

namespace {
std::atomic<pid_t> g_probe_tid{0};

// Async-signal-safe: a raw gettid system call and a lock-free store.
void ProbeHandler(int, siginfo_t*, void*) {
  const int saved_errno = errno;
  g_probe_tid.store(static_cast<pid_t>(syscall(SYS_gettid)),
                    std::memory_order_release);
  errno = saved_errno;
}
}  // namespace

void RunPlacementProbe(const Options& options, const Reporter& reporter,
                       Placement placement) {
  struct sigaction action = {}, saved_action;
  action.sa_sigaction = ProbeHandler;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, &saved_action);
  // Asleep in a condition variable wait (a futex), as a receiver blocked in
  // its library is. (Not read(): TSan runs a handler that interrupts a
  // read() it does not treat as blocking only once read returns.)
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  const pid_t receiver = getpid();
  int64_t on_receiver = 0, on_sender = 0, elsewhere = 0, timeouts = 0;
  RunPlaced(
      placement,
      [&] {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return done; });
      },
      [&] {
        const pid_t sender = static_cast<pid_t>(syscall(SYS_gettid));
        for (int i = 0; i < options.placement_probes; ++i) {
          g_probe_tid.store(0, std::memory_order_relaxed);
          const int64_t t0 = NowNs();
          SendToSelf(SIGUSR1);
          pid_t tid;
          while ((tid = g_probe_tid.load(std::memory_order_acquire)) == 0 &&
                 NowNs() - t0 < TimeoutNs(options)) {
            CpuRelax();
          }
          if (tid == 0) {
            ++timeouts;
          } else if (tid == receiver) {
            ++on_receiver;
          } else if (tid == sender) {
            ++on_sender;
          } else {
            ++elsewhere;
          }
          // Let the receiver go back to sleep.
          const int64_t t1 = NowNs();
          while (NowNs() - t1 < 20000) CpuRelax();
        }
      },
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_one();
      });
  sigaction(SIGUSR1, &saved_action, nullptr);
  Line(reporter, "placement", placement)
      .Add("probes", static_cast<int64_t>(options.placement_probes))
      .Add("on_receiver", on_receiver)
      .Add("on_sender", on_sender)
      .Add("elsewhere", elsewhere)
      .Add("timeouts", timeouts);
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
