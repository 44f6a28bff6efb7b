#include "platform/futex.h"

#ifdef __linux__

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace portsig {
namespace platform {

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               absl::Duration timeout) {
#if defined(__SANITIZE_THREAD__)
  timeout = std::min(timeout, absl::Milliseconds(5));
#endif
  struct timespec relative;
  struct timespec* relative_ptr = nullptr;
  if (timeout != absl::InfiniteDuration()) {
    relative = absl::ToTimespec(std::max(timeout, absl::ZeroDuration()));
    relative_ptr = &relative;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, relative_ptr, nullptr, 0);
#if defined(__SANITIZE_THREAD__)
  usleep(0);
#endif
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE,
          count, nullptr, nullptr, 0);
}

}  // namespace platform
}  // namespace portsig

#endif  // __linux__
