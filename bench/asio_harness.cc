// Asio (Debian's libasio-dev, standalone) under the bench/ protocol
// (harness.h). Consumers are asio::signal_set objects on one io_context,
// run by one thread; each handler bumps the sink and waits again. Sets are
// made and armed before the thread runs; churn is add()+remove() on one set
// with the io_context idle.
#include <signal.h>
#include <stdio.h>

#include <asio.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.h"

namespace portsig_bench {
namespace {

void Arm(asio::signal_set* set, Sink* sink) {
  set->async_wait([set, sink](const asio::error_code& error, int) {
    if (error) return;  // Cancelled.
    if (sink != nullptr) sink->Bump();
    Arm(set, sink);
  });
}

// An io_context with signal sets, run by its own thread once Start()ed.
class Context {
 public:
  ~Context() {
    context_.stop();
    if (thread_.joinable()) thread_.join();
    sets_.clear();
  }
  // Adds n sets for signo, each waiting; handlers bump sink unless null.
  void Add(int n, int signo, Sink* sink, bool arm = true) {
    for (int i = 0; i < n; ++i) {
      sets_.push_back(std::make_unique<asio::signal_set>(context_, signo));
      if (arm) Arm(sets_.back().get(), sink);
    }
  }
  void Start() {
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(context_);
      context_.run();
    });
  }
  asio::io_context& context() { return context_; }

 private:
  asio::io_context context_;
  std::vector<std::unique_ptr<asio::signal_set>> sets_;
  std::thread thread_;
};

int Main(int argc, char** argv) {
  const MemorySnapshot at_start = TakeMemorySnapshot();
  const Options options = ParseOptions(argc, argv);
  CheckMode(options, "latency,storm,churn,fanout,fanout_other,memory");
  const Reporter reporter("asio",
                          "asio" + std::to_string(ASIO_VERSION / 100000) + "." +
                              std::to_string(ASIO_VERSION / 100 % 1000) + "." +
                              std::to_string(ASIO_VERSION % 100));

  if (Wants(options, "memory")) {
    Context context;
    context.Add(1, SIGUSR1, nullptr);
    const MemorySnapshot before = TakeMemorySnapshot();
    context.Add(options.memory_channels, SIGUSR1, nullptr);
    const MemorySnapshot after = TakeMemorySnapshot();
    ReportMemory(reporter, options.memory_channels, at_start, before, after);
  }
  if (Wants(options, "latency")) {
    Sink sink;
    Context context;
    context.Add(1, SIGUSR1, &sink);
    context.Start();
    RunLatency(options, reporter, sink, "latency", SIGUSR1,
               options.latency_iters, options.latency_warmup, /*dump=*/true);
  }
  if (Wants(options, "storm")) {
    Sink sink;
    Context context;
    context.Add(1, SIGUSR1, &sink);
    context.Start();
    RunStorm(options, reporter, sink);
  }
  if (Wants(options, "churn")) {
    for (int others : {0, options.churn_others}) {
      Context context;
      context.Add(others, SIGUSR1, nullptr, /*arm=*/false);
      asio::signal_set set(context.context());
      RunChurn(options, reporter, others, [&] {
        set.add(SIGUSR1);
        set.remove(SIGUSR1);
      });
    }
  }
  if (Wants(options, "fanout")) {
    for (int n : options.fanout_sizes) {
      Sink sink;
      Context context;
      context.Add(n, SIGUSR1, &sink);
      context.Start();
      RunFanoutCounted(options, reporter, n, sink);
    }
  }
  if (Wants(options, "fanout_other")) {
    for (int waiters : {0, options.other_waiters}) {
      Sink sink;
      Context context;
      context.Add(waiters, SIGUSR1, nullptr);
      context.Add(1, SIGUSR2, &sink);
      context.Start();
      RunLatency(options, reporter, sink, "fanout_other", SIGUSR2,
                 options.other_iters, options.other_warmup, /*dump=*/false,
                 "waiters", waiters);
    }
  }
  return 0;
}

}  // namespace
}  // namespace portsig_bench

int main(int argc, char** argv) { return portsig_bench::Main(argc, argv); }
