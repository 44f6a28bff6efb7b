// The modes of harness.h for a system whose consumers live on one event
// loop (libuv, Asio), run by the main thread: the receiving thread of the
// protocol. A Loop type provides:
//   Loop();                            // a loop, not running yet
//   ~Loop();                           // frees every consumer
//   void Add(int n, int signo, Sink*); // n consumers of signo, each bumping
//                                      // the sink (null: they only wait);
//                                      // only before Run()
//   void Run();                        // runs the loop on the calling
//                                      // thread until Stop(); once
//   void Stop();                       // from any thread: Run() returns
//   std::function<void()> ChurnPair(); // one subscribe+unsubscribe of a
//                                      // consumer of SIGUSR1, for churn;
//                                      // with the loop not running
#ifndef PORTSIG_BENCH_LOOP_HARNESS_H_
#define PORTSIG_BENCH_LOOP_HARNESS_H_

#include <signal.h>

#include <functional>

#include "bench/harness.h"

namespace portsig_bench {

// Runs `loop` on the main thread in `placement` while `send` runs on the
// sender thread.
template <typename Loop>
void RunLoopPlaced(Loop& loop, Placement placement,
                   const std::function<void()>& send) {
  RunPlaced(
      placement, [&] { loop.Run(); }, send, [&] { loop.Stop(); });
}

template <typename Loop>
int RunLoopHarness(const Options& options, const Reporter& reporter,
                   const MemorySnapshot& at_start) {
  CheckMode(options,
            "latency,sparse,storm,churn,fanout_loop,fanout_other,memory");
  if (Wants(options, "memory")) {
    Loop loop;
    loop.Add(1, SIGUSR1, nullptr);
    const MemorySnapshot before = TakeMemorySnapshot();
    loop.Add(options.memory_channels, SIGUSR1, nullptr);
    const MemorySnapshot after = TakeMemorySnapshot();
    ReportMemory(reporter, options.memory_channels, at_start, before, after);
  }
  for (const LatencySpec& spec :
       {LatencyModeSpec(options), SparseModeSpec(options)}) {
    if (!Wants(options, spec.mode.c_str())) continue;
    for (Placement p : options.placements) {
      Sink sink;
      Loop loop;
      loop.Add(1, SIGUSR1, &sink);
      RunLoopPlaced(loop, p,
                    [&] { RunLatency(options, reporter, p, sink, spec); });
    }
  }
  if (Wants(options, "storm")) {
    for (Placement p : options.placements) {
      Sink sink;
      Loop loop;
      loop.Add(1, SIGUSR1, &sink);
      RunLoopPlaced(loop, p, [&] { RunStorm(options, reporter, p, sink); });
    }
  }
  if (Wants(options, "churn")) {
    for (int others : {0, options.churn_others}) {
      Loop loop;
      loop.Add(others, SIGUSR1, nullptr);
      RunChurn(options, reporter, others, loop.ChurnPair());
    }
  }
  if (Wants(options, "fanout_loop")) {
    for (Placement p : options.placements) {
      for (int n : options.fanout_sizes) {
        Sink sink;
        Loop loop;
        loop.Add(n, SIGUSR1, &sink);
        RunLoopPlaced(loop, p, [&] {
          RunFanout(options, reporter, p, n, sink, "fanout_loop");
        });
      }
    }
  }
  if (Wants(options, "fanout_other")) {
    LatencySpec spec = FanoutOtherModeSpec(options);
    for (Placement p : options.placements) {
      for (int waiters : {0, options.other_waiters}) {
        spec.extra_value = waiters;
        Sink sink;
        Loop loop;
        loop.Add(waiters, SIGUSR1, nullptr);
        loop.Add(1, SIGUSR2, &sink);
        RunLoopPlaced(loop, p,
                      [&] { RunLatency(options, reporter, p, sink, spec); });
      }
    }
  }
  return 0;
}

}  // namespace portsig_bench

#endif  // PORTSIG_BENCH_LOOP_HARNESS_H_
