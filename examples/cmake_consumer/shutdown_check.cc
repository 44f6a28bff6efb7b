// shutdown_check: a graceful shutdown, built against an installed portsig
// (find_package(portsig) or pkg-config), checking itself.
//
// A worker accepts items until SIGTERM arrives through
// portsig::NotifyContext; the program sends that SIGTERM to itself once
// work is flowing, then drains and checks that:
// - the context is done and names SIGTERM;
// - every accepted item was processed;
// - after the context's Stop, Reset puts SIGTERM back to SIG_DFL.
// Prints "shutdown_check: PASS ..." and exits 0, or names the failed check
// and exits 1. Waits are bounded so a broken build fails instead of hanging.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "os_signal/signal.h"

namespace {

int Fail(const char* what) {
  std::printf("shutdown_check: FAIL: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  absl::StatusOr<portsig::SignalContext> shutdown =
      portsig::NotifyContext({SIGTERM});
  if (!shutdown.ok()) {
    std::printf("shutdown_check: %s\n", shutdown.status().ToString().c_str());
    return 1;
  }

  std::atomic<bool> accepting{true};
  std::atomic<long> accepted{0};
  long processed = 0;
  std::thread worker([&] {
    while (accepting.load()) {
      accepted.fetch_add(1);
      ++processed;  // Stands in for handling a request.
      std::this_thread::yield();
    }
  });
  while (accepted.load() < 100) std::this_thread::yield();

  kill(getpid(), SIGTERM);
  if (!shutdown->WaitFor(absl::Seconds(30))) {
    accepting.store(false);
    worker.join();
    return Fail("SIGTERM never reached the context");
  }
  accepting.store(false);
  worker.join();

  std::optional<portsig::Signal> why = shutdown->signal();
  if (!why || why->number() != SIGTERM) return Fail("context names SIGTERM");
  if (processed != accepted.load()) return Fail("every item processed");
  shutdown->Stop();
  if (!portsig::Reset({SIGTERM}).ok()) return Fail("Reset(SIGTERM)");
  struct sigaction now;
  sigaction(SIGTERM, nullptr, &now);
  if (now.sa_handler != SIG_DFL) return Fail("SIGTERM back to SIG_DFL");
  std::printf("shutdown_check: PASS %s received; %ld items processed\n",
              why->ToString().c_str(), processed);
  return 0;
}
