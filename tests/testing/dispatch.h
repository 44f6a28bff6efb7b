// WaitForDispatch and RaiseAndDispatch: a test that raised a signal waits
// until portsig has fanned it out to the channels that want it, without
// sleeping. They promise to return only after that, or to end the process
// with a message saying why they could not wait: a test that went on
// unsynchronised would check nothing. Header-only and free of gtest, so the
// libFuzzer build under fuzz/ (outside Bazel) can use it too.
#ifndef PORTSIG_TESTS_TESTING_DISPATCH_H_
#define PORTSIG_TESTS_TESTING_DISPATCH_H_

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "os_signal/signal.h"

namespace portsig {
namespace testing {

// The barrier when a test names none: a signal no test sends.
inline constexpr int kDefaultBarrierSignal = SIGURG;

// Returns once every signal already handed to portsig's handler has been
// fanned out: Stop of a registered channel waits for the runtime to go idle
// (it delivers what is queued first). `barrier_signo` must be a signal
// nobody else relies on. Aborts if the barrier cannot be registered, since
// then nothing was waited for.
inline void WaitForDispatch(int barrier_signo = kDefaultBarrierSignal) {
  SignalChannel barrier(1);
  const absl::Status status = Notify(barrier, {barrier_signo});
  if (!status.ok()) {
    std::fprintf(stderr, "WaitForDispatch: Notify of barrier signal %d: %s\n",
                 barrier_signo, std::string(status.message()).c_str());
    std::abort();
  }
  Stop(barrier);
}

// Raises `signo` and waits until it is fanned out. raise() runs the handler
// on this thread before it returns, so the signal has been queued when
// WaitForDispatch starts. Aborts if raise fails.
inline void RaiseAndDispatch(int signo,
                             int barrier_signo = kDefaultBarrierSignal) {
  if (raise(signo) != 0) {
    std::fprintf(stderr, "RaiseAndDispatch: raise(%d): %s\n", signo,
                 std::strerror(errno));
    std::abort();
  }
  WaitForDispatch(barrier_signo);
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_DISPATCH_H_
