// The calling thread on Linux. See this_thread.h.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void SignalThisThread(int signo) {
  // Raw system calls (both async-signal-safe), as portsig has always done
  // here on Linux.
  syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), signo);
}

void NameThread(pthread_t thread, const char* name) {
  pthread_setname_np(thread, name);
}

}  // namespace platform
}  // namespace portsig
