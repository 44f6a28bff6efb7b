#include "platform/quiet_thread.h"

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

#include "platform/scoped_signal_block.h"
#include "platform/signal_names.h"
#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void StartQuietThread(const char* name, std::function<void()> body) {
  // A new thread inherits its creator's mask, so set it exactly, whatever
  // the creator blocks. The fault signals stay open: blocked, a fault on
  // the thread would kill the process without the host's crash handler (or
  // a sanitizer's report) ever running.
  sigset_t quiet;
  sigfillset(&quiet);
  for (int signo = 1; signo < NSIG; ++signo) {
    if (IsSynchronousSignal(signo)) sigdelset(&quiet, signo);
  }
  ScopedSignalMask masked(quiet);
  std::thread thread(std::move(body));
  // Named by its creator, so it has its name from the moment Start returns.
  NameThread(thread.native_handle(), name);
  thread.detach();
}

}  // namespace platform
}  // namespace portsig
