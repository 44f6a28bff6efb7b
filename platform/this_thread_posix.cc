// The calling thread on any POSIX system. See this_thread.h.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "platform/fatal.h"
#include "platform/this_thread.h"

namespace portsig {
namespace platform {

void SignalThisThread(int signo) {
  // Both async-signal-safe since POSIX.1-2008 TC1.
  int error = pthread_kill(pthread_self(), signo);
  // EAGAIN: a real-time signal, and no room in the system's queue (Linux's
  // RLIMIT_SIGPENDING). kill(2) needs none there (the signal comes without
  // its siginfo), but goes to the process: the callers send a signal
  // whose default action is in place, and a real-time signal's ends the
  // process on whichever thread takes it.
  if (error == EAGAIN) error = kill(getpid(), signo) == 0 ? 0 : errno;
  if (error != 0) Fatal("cannot signal the calling thread", signo, error);
}

void NameThread(pthread_t, const char*) {}

}  // namespace platform
}  // namespace portsig
