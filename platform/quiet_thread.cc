#include "platform/quiet_thread.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "platform/fatal.h"
#include "platform/scoped_signal_block.h"
#include "platform/signal_names.h"
#include "platform/this_thread.h"

namespace portsig {
namespace platform {
namespace {

void* RunBody(void* arg) {
  std::function<void()>* body = static_cast<std::function<void()>*>(arg);
  (*body)();
  delete body;
  return nullptr;
}

}  // namespace

sigset_t QuietMask(const sigset_t& open) {
  // The fault signals stay open: blocked, a fault on the thread would kill
  // the process without the host's crash handler (or a sanitizer's report)
  // ever running.
  sigset_t quiet;
  sigfillset(&quiet);
  for (int signo = 1; signo < NSIG; ++signo) {
    if (IsSynchronousSignal(signo) || sigismember(&open, signo) == 1) {
      sigdelset(&quiet, signo);
    }
  }
  return quiet;
}

absl::Status StartQuietThread(const char* name, std::function<void()> body) {
  sigset_t none;
  sigemptyset(&none);
  return StartQuietThread(name, std::move(body), none);
}

absl::Status StartQuietThread(const char* name, std::function<void()> body,
                              const sigset_t& open) {
  // pthread_create rather than std::thread, which reports failure by
  // throwing, and whose state allocation throws too: no exception may cross
  // portsig's API.
  auto* owned = new (std::nothrow) std::function<void()>(std::move(body));
  if (owned == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot start portsig's thread ", name, ": out of memory"));
  }
  // A new thread inherits its creator's mask, so set it exactly, whatever
  // the creator blocks.
  const sigset_t quiet = QuietMask(open);
  pthread_t thread;
  int error;
  {
    ScopedSignalMask masked(quiet);
    // Default attributes: those the host set with pthread_setattr_default_np
    // (a stack size, say) apply to portsig's threads as to its own.
    error = pthread_create(&thread, nullptr, &RunBody, owned);
  }
  if (error != 0) {
    delete owned;
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot start portsig's thread ", name,
                     ": pthread_create: ", strerror(error)));
  }
  // Named by its creator, so it has its name from the moment Start returns.
  NameThread(thread, name);
  // Fails only for a thread that is not joinable, which this one is.
  if (int error = pthread_detach(thread)) {
    Fatal("cannot detach a new portsig thread", 0, error);
  }
  return absl::OkStatus();
}

}  // namespace platform
}  // namespace portsig
