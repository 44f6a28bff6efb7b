// Parker on Linux: futex(2) on the word itself. See parker.h.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "platform/parker.h"
#include "platform/sanitizers.h"

namespace portsig {
namespace platform {

Parker::~Parker() = default;

void Parker::Wait(std::atomic<uint32_t>* word, uint32_t expected,
                  const struct timespec* timeout) {
#if defined(PORTSIG_TSAN)
  // TSan runs a caught signal's handler only at an intercepted call, which
  // a raw futex wait never makes: sleep in slices of at most 5 ms and pass
  // through one (usleep) after each.
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

void Parker::Wake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1,
          nullptr, nullptr, 0);
}

}  // namespace platform
}  // namespace portsig
