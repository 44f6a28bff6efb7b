// Asio (Debian's libasio-dev, standalone) under the bench/ protocol
// (harness.h). Consumers are asio::signal_set objects on one io_context,
// run by the main thread; each handler bumps the sink and waits again. Sets
// are made and armed before it runs; churn is add()+remove() on one set
// with the io_context idle. The modes are loop_harness.h's.
#include <signal.h>
#include <stdio.h>

#include <asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "bench/loop_harness.h"

namespace portsig_bench {
namespace {

void Arm(asio::signal_set* set, Sink* sink) {
  set->async_wait([set, sink](const asio::error_code& error, int) {
    if (error) return;  // Cancelled.
    if (sink != nullptr) sink->Bump();
    Arm(set, sink);
  });
}

// An io_context with signal sets, run by the thread that calls Run().
class Context {
 public:
  ~Context() {
    context_.stop();
    sets_.clear();
  }
  // Adds n sets for signo, each waiting; handlers bump sink unless null.
  void Add(int n, int signo, Sink* sink) {
    for (int i = 0; i < n; ++i) {
      sets_.push_back(std::make_unique<asio::signal_set>(context_, signo));
      Arm(sets_.back().get(), sink);
    }
  }
  void Run() {
    auto guard = asio::make_work_guard(context_);
    context_.run();
  }
  void Stop() { context_.stop(); }
  std::function<void()> ChurnPair() {
    sets_.push_back(std::make_unique<asio::signal_set>(context_));
    asio::signal_set* set = sets_.back().get();
    return [set] {
      set->add(SIGUSR1);
      set->remove(SIGUSR1);
    };
  }

 private:
  asio::io_context context_;
  std::vector<std::unique_ptr<asio::signal_set>> sets_;
};

int Main(int argc, char** argv) {
  const MemorySnapshot at_start = TakeMemorySnapshot();
  const Options options = ParseOptions(argc, argv);
  const std::string version = std::to_string(ASIO_VERSION / 100000) + "." +
                              std::to_string(ASIO_VERSION / 100 % 1000) + "." +
                              std::to_string(ASIO_VERSION % 100);
  return RunLoopHarness<Context>(options, Reporter("asio", "asio" + version),
                                 at_start);
}

}  // namespace
}  // namespace portsig_bench

int main(int argc, char** argv) { return portsig_bench::Main(argc, argv); }
