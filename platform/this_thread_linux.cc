// The calling thread on Linux. See this_thread.h.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "platform/fatal.h"
#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void SignalThisThread(int signo) {
  // Raw system calls (both async-signal-safe), as portsig has always done
  // here on Linux.
  if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), signo) != 0) {
    Fatal("cannot signal the calling thread", signo, errno);
  }
}

void NameThread(pthread_t thread, const char* name) {
  // Fails only for a name over 15 bytes (portsig's are shorter) or a thread
  // already gone; a name is for people reading ps, nothing depends on it.
  static_cast<void>(pthread_setname_np(thread, name));
}

}  // namespace platform
}  // namespace portsig
