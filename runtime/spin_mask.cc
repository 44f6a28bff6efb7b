#include "runtime/spin_mask.h"

#include <pthread.h>
#include <signal.h>

#include "platform/signal_names.h"
#include "platform/test_hooks.h"
#include "runtime/runtime.h"

namespace portsig {
namespace runtime {

SpinMask::SpinMask() {
  sigset_t wanted;
  sigemptyset(&wanted);
  sigemptyset(&blocked_);
  bool any = false;
  for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
    if (platform::IsSynchronousSignal(signo) || !QueueWants(signo)) continue;
    sigaddset(&wanted, signo);
    any = true;
  }
  if (!any) return;
  sigset_t before;
  if (pthread_sigmask(SIG_BLOCK, &wanted, &before) != 0) return;
  for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
    if (sigismember(&wanted, signo) == 1 && sigismember(&before, signo) != 1) {
      sigaddset(&blocked_, signo);
      active_ = true;
    }
  }
  if (active_) PORTSIG_TEST_HOOK(spin_mask_blocked, 0);
}

void SpinMask::Check() {
  if (!active_) return;
  sigset_t pending;
  if (sigpending(&pending) != 0) return;
  for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
    if (sigismember(&blocked_, signo) == 1 &&
        sigismember(&pending, signo) == 1) {
      Unblock();
      return;
    }
  }
}

void SpinMask::Unblock() {
  if (!active_) return;
  active_ = false;
  pthread_sigmask(SIG_UNBLOCK, &blocked_, nullptr);
}

}  // namespace runtime
}  // namespace portsig
