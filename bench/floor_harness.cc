// The floors under the bench/ protocol (harness.h): no library, just the
// kernel. SIGUSR1 and SIGUSR2 are blocked in every thread and one thread
// takes them with sigwaitinfo (FLOOR_SIGWAITINFO) or by read() on a
// signalfd (FLOOR_SIGNALFD). Modes: latency, storm, and churn, which here
// is the raw cost of what any library must do to subscribe: install a
// sigaction and restore the old one (reported as system=sigaction, from
// the sigwaitinfo harness only). A kernel queue has one taker, so fan-out
// and memory do not apply.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "bench/harness.h"

namespace portsig_bench {
namespace {

#if defined(FLOOR_SIGWAITINFO)
constexpr char kSystem[] = "sigwaitinfo";
#elif defined(FLOOR_SIGNALFD)
constexpr char kSystem[] = "signalfd";
#else
#error "define FLOOR_SIGWAITINFO or FLOOR_SIGNALFD"
#endif

// A thread that takes SIGUSR1 from the kernel and bumps `sink`.
class Consumer {
 public:
  explicit Consumer(Sink* sink) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
#if defined(FLOOR_SIGNALFD)
    fd_ = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd_ < 0) {
      perror("signalfd");
      exit(1);
    }
#endif
    thread_ = std::thread([this, sink, set] {
      for (;;) {
#if defined(FLOOR_SIGNALFD)
        signalfd_siginfo info;
        if (read(fd_, &info, sizeof(info)) != sizeof(info)) continue;
#else
        siginfo_t info;
        if (sigwaitinfo(&set, &info) < 0) continue;
#endif
        if (stop_.load(std::memory_order_acquire)) return;
        sink->Bump();
      }
    });
  }
  ~Consumer() {
    stop_.store(true, std::memory_order_release);
    SendToSelf(SIGUSR1);
    thread_.join();
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

#if defined(FLOOR_SIGWAITINFO)
void NoopHandler(int) {}
#endif

int Main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  CheckMode(options, "latency,storm,churn");
  // Blocked before any thread exists, so blocked in all of them.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  const Reporter reporter(kSystem, "kernel");

  if (Wants(options, "latency")) {
    Sink sink;
    Consumer consumer(&sink);
    RunLatency(options, reporter, sink, "latency", SIGUSR1,
               options.latency_iters, options.latency_warmup, /*dump=*/true);
  }
  if (Wants(options, "storm")) {
    Sink sink;
    Consumer consumer(&sink);
    RunStorm(options, reporter, sink);
  }
#if defined(FLOOR_SIGWAITINFO)
  if (Wants(options, "churn")) {
    struct sigaction action = {}, saved;
    action.sa_handler = NoopHandler;
    sigfillset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    RunChurn(options, Reporter("sigaction", "raw"), 0, [&] {
      sigaction(SIGUSR1, &action, &saved);
      sigaction(SIGUSR1, &saved, nullptr);
    });
  }
#endif
  return 0;
}

}  // namespace
}  // namespace portsig_bench

int main(int argc, char** argv) { return portsig_bench::Main(argc, argv); }
