// The calling thread, as the operating system knows it: signalling it from
// its own signal handler, where its stack is, and naming threads for
// debuggers.
//
// Two implementations behind this header, chosen by --//platform:os (CMake:
// PORTSIG_OS): linux (this_thread_linux.cc) uses tgkill(2) and
// pthread_setname_np; posix (this_thread_posix.cc) uses pthread_kill and
// names nothing, since POSIX has no call to name a thread (the
// pthread_setname_np of glibc, macOS, FreeBSD and NetBSD take different
// arguments).
#ifndef PORTSIG_PLATFORM_THIS_THREAD_H_
#define PORTSIG_PLATFORM_THIS_THREAD_H_

#include <pthread.h>

namespace portsig {
namespace platform {

// Sends `signo` to the calling thread only. Async-signal-safe. A
// real-time signal the kernel has no room to queue (RLIMIT_SIGPENDING)
// still goes, as kill(2) sends one, without its siginfo; on the generic
// POSIX layer it then goes to the process, which for a signal whose
// default action is in place ends it all the same.
// Ends the process (platform/fatal.h) if the signal cannot be sent.
void SignalThisThread(int signo);

// Whether `address` lies on the calling thread's stack. False where the
// system cannot say (no pthread_getattr_np outside glibc, or it failed).
// Learns the bounds once per thread (again on later calls while that fails).
// Ordinary threads only: for the main thread glibc reads /proc/self/maps
// through stdio. Not a cancellation point: that first lookup holds
// deferred cancellation off; later calls reach no system call.
bool OnThisThreadsStack(const void* address);

// Gives `thread` a name (at most 15 characters) where the system can show
// one; does nothing elsewhere.
void NameThread(pthread_t thread, const char* name);

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_THIS_THREAD_H_
