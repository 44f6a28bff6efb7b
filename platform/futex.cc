#include "platform/futex.h"

#ifdef __linux__

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace portsig {
namespace platform {

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               const struct timespec* timeout) {
#if defined(__SANITIZE_THREAD__)
  struct timespec slice = {0, 5 * 1000 * 1000};
  if (timeout != nullptr && timeout->tv_sec == 0 &&
      timeout->tv_nsec < slice.tv_nsec) {
    slice = *timeout;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, &slice, nullptr, 0);
  usleep(0);
#else
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, timeout, nullptr, 0);
#endif
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE,
          count, nullptr, nullptr, 0);
}

}  // namespace platform
}  // namespace portsig

#endif  // __linux__
