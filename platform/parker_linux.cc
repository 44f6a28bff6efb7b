// Parker on Linux: futex(2) on the word itself. See parker.h.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "platform/fatal.h"
#include "platform/parker.h"
#include "platform/sanitizers.h"

namespace portsig {
namespace platform {

namespace {

// A wait ends by a wake (0), a changed word (EAGAIN), a signal (EINTR) or
// its timeout (ETIMEDOUT); callers look at the word again after each.
// Anything else (EFAULT, EINVAL) is a broken word or timeout.
void CheckWait(long result) {
  if (result < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
    Fatal("futex wait failed", 0, errno);
  }
}

}  // namespace

Parker::~Parker() = default;

PORTSIG_UNPOISONED_FRAME void Parker::Wait(std::atomic<uint32_t>* word,
                                           uint32_t expected,
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
  CheckWait(syscall(SYS_futex, reinterpret_cast<uint32_t*>(word),
                    FUTEX_WAIT_PRIVATE, expected, &slice, nullptr, 0));
  usleep(0);
#else
  CheckWait(syscall(SYS_futex, reinterpret_cast<uint32_t*>(word),
                    FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0));
#endif
}

void Parker::Wake(std::atomic<uint32_t>* word) {
  // Fails only for a bad address or operation: a broken word, not a state
  // a caller can recover from. errno is kept: Wake runs in the handler.
  const int saved_errno = errno;
  if (syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE,
              1, nullptr, nullptr, 0) < 0) {
    Fatal("futex wake failed", 0, errno);
  }
  errno = saved_errno;
}

}  // namespace platform
}  // namespace portsig
