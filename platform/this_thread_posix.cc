// The calling thread on any POSIX system. See this_thread.h.
#include <pthread.h>
#include <signal.h>

#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void SignalThisThread(int signo) {
  // Both async-signal-safe since POSIX.1-2008 TC1.
  pthread_kill(pthread_self(), signo);
}

void NameThread(pthread_t, const char*) {}

}  // namespace platform
}  // namespace portsig
