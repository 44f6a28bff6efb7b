// libuv (Debian's libuv1-dev) under the bench/ protocol (harness.h).
// Consumers are uv_signal_t handles on one loop, run by the main thread;
// the callback bumps the sink. libuv's API is not thread-safe, so handles
// are started before the loop runs and closed by it (through a uv_async_t
// the sender thread signals) at the end; churn runs with the loop idle.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "bench/loop_harness.h"

namespace portsig_bench {
namespace {

void Check(int rc, const char* what) {
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", what, uv_strerror(rc));
    exit(1);
  }
}

void OnSignal(uv_signal_t* handle, int) {
  static_cast<Sink*>(handle->data)->Bump();
}

// A loop with uv_signal_t handles, run by the thread that calls Run().
class Loop {
 public:
  Loop() {
    Check(uv_loop_init(&loop_), "uv_loop_init");
    Check(uv_async_init(&loop_, &stop_, &Loop::OnStop), "uv_async_init");
  }
  ~Loop() {
    if (!ran_) {
      OnStop(&stop_);
      uv_run(&loop_, UV_RUN_DEFAULT);
    }
    Check(uv_loop_close(&loop_), "uv_loop_close");
  }

  // Adds n handles for signo, their callbacks bumping sink (which may be
  // null for handles that only wait).
  void Add(int n, int signo, Sink* sink) {
    for (int i = 0; i < n; ++i) {
      handles_.push_back(std::make_unique<uv_signal_t>());
      uv_signal_t* h = handles_.back().get();
      Check(uv_signal_init(&loop_, h), "uv_signal_init");
      h->data = sink;
      Check(uv_signal_start(h, sink ? &OnSignal : &Ignore, signo),
            "uv_signal_start");
    }
  }
  // Returns once Stop() has closed every handle.
  void Run() {
    ran_ = true;
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  void Stop() { uv_async_send(&stop_); }
  std::function<void()> ChurnPair() {
    handles_.push_back(std::make_unique<uv_signal_t>());
    uv_signal_t* h = handles_.back().get();
    Check(uv_signal_init(&loop_, h), "uv_signal_init");
    return [h] {
      uv_signal_start(h, &Ignore, SIGUSR1);
      uv_signal_stop(h);
    };
  }

 private:
  static void Ignore(uv_signal_t*, int) {}
  // On the loop thread: close everything, so uv_run returns.
  static void OnStop(uv_async_t* async) {
    uv_walk(
        async->loop,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
  }

  uv_loop_t loop_;
  uv_async_t stop_;
  std::vector<std::unique_ptr<uv_signal_t>> handles_;
  bool ran_ = false;
};

int Main(int argc, char** argv) {
  const MemorySnapshot at_start = TakeMemorySnapshot();
  const Options options = ParseOptions(argc, argv);
  return RunLoopHarness<Loop>(
      options, Reporter("libuv", std::string("uv") + uv_version_string()),
      at_start);
}

}  // namespace
}  // namespace portsig_bench

int main(int argc, char** argv) { return portsig_bench::Main(argc, argv); }
