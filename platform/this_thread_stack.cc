// Where the calling thread's stack is, for both platform layers. See
// this_thread.h.
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/this_thread.h"

namespace portsig {
namespace platform {
namespace {

struct StackBounds {
  bool known = false;
  uintptr_t low = 0;
  uintptr_t high = 0;
};

StackBounds FindThisThreadsStack() {
  StackBounds bounds;
#ifdef __GLIBC__
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return bounds;
  void* low = nullptr;
  size_t size = 0;
  if (pthread_attr_getstack(&attr, &low, &size) == 0) {
    bounds.known = true;
    bounds.low = reinterpret_cast<uintptr_t>(low);
    bounds.high = bounds.low + size;
  }
  pthread_attr_destroy(&attr);
#endif
  return bounds;
}

}  // namespace

bool OnThisThreadsStack(const void* address) {
  // For the main thread glibc reads /proc/self/maps: once per thread, and
  // again only while that failed (no descriptor free, say).
  thread_local StackBounds bounds;
  if (!bounds.known) {
    // Callers promise not to be cancellation points (os_signal/signal.h's
    // Notify) and hold cancellation off only where they need it. glibc
    // reads /proc/self/maps through a stream opened "rce" (no cancellation
    // points); held off anyway, once per thread, in case a C library
    // reads it otherwise.
    int callers;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &callers);
    bounds = FindThisThreadsStack();
    int unused;
    pthread_setcancelstate(callers, &unused);
  }
  const auto at = reinterpret_cast<uintptr_t>(address);
  return bounds.known && at >= bounds.low && at < bounds.high;
}

}  // namespace platform
}  // namespace portsig
