// The calling thread on Linux. See this_thread.h.
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "platform/fatal.h"
#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void SignalThisThread(int signo) {
  // Raw system calls (all async-signal-safe), as portsig has always done
  // here on Linux.
  const pid_t pid = getpid();
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (syscall(SYS_tgkill, pid, tid, signo) == 0) return;
  // EAGAIN: a real-time signal, and no room in the kernel's queue
  // (RLIMIT_SIGPENDING, counted per user). The kernel refuses tgkill's
  // (SI_TKILL) then, as it does sigqueue's, but lets one marked SI_USER,
  // as kill(2)'s are, through without its siginfo: the same signal to the
  // same thread, sent as from kill(2) by this process.
  if (errno == EAGAIN) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = signo;
    info.si_code = SI_USER;
    info.si_pid = pid;
    info.si_uid = getuid();
    if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, signo, &info) == 0) return;
  }
  Fatal("cannot signal the calling thread", signo, errno);
}

void NameThread(pthread_t thread, const char* name) {
  // Fails only for a name over 15 bytes (portsig's are shorter) or a thread
  // already gone; a name is for people reading ps, nothing depends on it.
  static_cast<void>(pthread_setname_np(thread, name));
}

}  // namespace platform
}  // namespace portsig
