// The calling thread on any POSIX system. See this_thread.h.
#include <pthread.h>
#include <signal.h>

#include "platform/fatal.h"
#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void SignalThisThread(int signo) {
  // Both async-signal-safe since POSIX.1-2008 TC1.
  if (int error = pthread_kill(pthread_self(), signo)) {
    Fatal("cannot signal the calling thread", signo, error);
  }
}

void NameThread(pthread_t, const char*) {}

}  // namespace platform
}  // namespace portsig
