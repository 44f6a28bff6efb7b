// The modes of harness.h for a system whose consumers live on one event
// loop run by one thread (libuv, Asio). A Loop type provides:
//   Loop();                            // a loop, not running yet
//   ~Loop();                           // stops it (and its thread) and
//                                      // frees every consumer
//   void Add(int n, int signo, Sink*); // n consumers of signo, each bumping
//                                      // the sink (null: they only wait);
//                                      // only before Start()
//   void Start();                      // runs the loop on its own thread
//   std::function<void()> ChurnPair(); // one subscribe+unsubscribe of a
//                                      // consumer of SIGUSR1, for churn;
//                                      // run with the loop not started
#ifndef PORTSIG_BENCH_LOOP_HARNESS_H_
#define PORTSIG_BENCH_LOOP_HARNESS_H_

#include <signal.h>

#include <functional>

#include "bench/harness.h"

namespace portsig_bench {

template <typename Loop>
int RunLoopHarness(const Options& options, const Reporter& reporter,
                   const MemorySnapshot& at_start) {
  CheckMode(options, "latency,storm,churn,fanout,fanout_other,memory");
  if (Wants(options, "memory")) {
    Loop loop;
    loop.Add(1, SIGUSR1, nullptr);
    const MemorySnapshot before = TakeMemorySnapshot();
    loop.Add(options.memory_channels, SIGUSR1, nullptr);
    const MemorySnapshot after = TakeMemorySnapshot();
    ReportMemory(reporter, options.memory_channels, at_start, before, after);
  }
  if (Wants(options, "latency")) {
    Sink sink;
    Loop loop;
    loop.Add(1, SIGUSR1, &sink);
    loop.Start();
    RunLatency(options, reporter, sink, "latency", SIGUSR1,
               options.latency_iters, options.latency_warmup, /*dump=*/true);
  }
  if (Wants(options, "storm")) {
    Sink sink;
    Loop loop;
    loop.Add(1, SIGUSR1, &sink);
    loop.Start();
    RunStorm(options, reporter, sink);
  }
  if (Wants(options, "churn")) {
    for (int others : {0, options.churn_others}) {
      Loop loop;
      loop.Add(others, SIGUSR1, nullptr);
      RunChurn(options, reporter, others, loop.ChurnPair());
    }
  }
  if (Wants(options, "fanout")) {
    for (int n : options.fanout_sizes) {
      Sink sink;
      Loop loop;
      loop.Add(n, SIGUSR1, &sink);
      loop.Start();
      RunFanoutCounted(options, reporter, n, sink);
    }
  }
  if (Wants(options, "fanout_other")) {
    for (int waiters : {0, options.other_waiters}) {
      Sink sink;
      Loop loop;
      loop.Add(waiters, SIGUSR1, nullptr);
      loop.Add(1, SIGUSR2, &sink);
      loop.Start();
      RunLatency(options, reporter, sink, "fanout_other", SIGUSR2,
                 options.other_iters, options.other_warmup, /*dump=*/false,
                 "waiters", waiters);
    }
  }
  return 0;
}

}  // namespace portsig_bench

#endif  // PORTSIG_BENCH_LOOP_HARNESS_H_
