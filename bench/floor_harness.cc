// The floors under the bench/ protocol (harness.h): no library, just the
// kernel. SIGUSR1 and SIGUSR2 are blocked in every thread and the main
// thread takes them with sigwaitinfo (FLOOR_SIGWAITINFO) or by read() on a
// signalfd (FLOOR_SIGNALFD); --placement is ignored (no handler runs).
// Modes: latency, sparse, storm, and churn, which here
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

#include <functional>

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

// Takes SIGUSR1 (or SIGUSR2) from the kernel on the calling (main)
// thread, bumping `sink`, while `send` runs on the sender thread. Every
// thread blocks both signals (main blocks them before any thread exists),
// so there is no handler and no placement: placement=blocked.
void ReceiveWhile(int signo, Sink& sink, const std::function<void()>& send) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
#if defined(FLOOR_SIGNALFD)
  const int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) {
    perror("signalfd");
    exit(1);
  }
#endif
  ReceiveLoopPlaced(
      Placement::kBlocked, signo, sink,
      [&] {
#if defined(FLOOR_SIGNALFD)
        signalfd_siginfo info;
        return read(fd, &info, sizeof(info)) == sizeof(info);
#else
        siginfo_t info;
        return sigwaitinfo(&set, &info) >= 0;
#endif
      },
      send);
#if defined(FLOOR_SIGNALFD)
  close(fd);
#endif
}

#if defined(FLOOR_SIGWAITINFO)
void NoopHandler(int) {}
#endif

int Main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  CheckMode(options, "latency,sparse,storm,churn");
  // Blocked before any thread exists, so blocked in all of them.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  const Reporter reporter(kSystem, "kernel");

  for (const LatencySpec& spec :
       {LatencyModeSpec(options), SparseModeSpec(options)}) {
    if (!Wants(options, spec.mode.c_str())) continue;
    Sink sink;
    ReceiveWhile(SIGUSR1, sink, [&] {
      RunLatency(options, reporter, Placement::kBlocked, sink, spec);
    });
  }
  if (Wants(options, "storm")) {
    Sink sink;
    ReceiveWhile(SIGUSR1, sink, [&] {
      RunStorm(options, reporter, Placement::kBlocked, sink);
    });
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
