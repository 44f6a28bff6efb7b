// Parker on any POSIX system: a self-pipe. See parker.h.
//
// The sleeper publishes the pipe, then re-checks the word, then polls; the
// waker changes the word, then reads the pipe's write end (an acquire
// load, so its write comes after the pipe was made) and writes a byte. A
// sequentially consistent fence on each side between the two steps means
// either the waker sees the pipe and its byte ends the poll, or the sleeper
// sees the new word and does not poll. A byte left over from an earlier
// wake only makes a later Wait return early, which callers allow for.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<sys/syscall.h>)
#include <sys/syscall.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "platform/fatal.h"
#include "platform/parker.h"
#include "platform/sanitizers.h"

namespace portsig {
namespace platform {
namespace {

bool SetFlags(int fd) {
  const int status = fcntl(fd, F_GETFL);
  const int descriptor = fcntl(fd, F_GETFD);
  return status >= 0 && descriptor >= 0 &&
         fcntl(fd, F_SETFL, status | O_NONBLOCK) == 0 &&
         fcntl(fd, F_SETFD, descriptor | FD_CLOEXEC) == 0;
}

// Milliseconds for poll, rounded up so a short timeout does not spin.
int TimeoutMillis(const struct timespec* timeout) {
  if (timeout == nullptr) return -1;
  constexpr int64_t kMaxMillis = 1 << 30;
  int64_t ms = static_cast<int64_t>(timeout->tv_sec) * 1000 +
               (timeout->tv_nsec + 999999) / 1000000;
  return static_cast<int>(ms > kMaxMillis ? kMaxMillis : ms);
}

}  // namespace

Parker::~Parker() {
  // Our copies, inherited or not: closing them leaves other processes' open.
  if (const int fd = read_fd_.load(); fd >= 0) close(fd);
  if (const int fd = write_fd_.load(); fd >= 0) close(fd);
}

PORTSIG_UNPOISONED_FRAME void Parker::Wait(std::atomic<uint32_t>* word,
                                           uint32_t expected,
                                           const struct timespec* timeout) {
  // A forked child inherits the parent's pipe: a byte either process wrote
  // could end the other's wait. The child closes its copies and makes its
  // own (closing leaves the parent's open). A handler in the child that
  // still wrote to the old pipe only woke a sleeper early.
  const int pid = getpid();
  if (pipe_pid_ != pid) {
    // No cancellation here (close(2) is a cancellation point): acting
    // between taking the inherited descriptors and closing them, it would
    // leave them open for good, named by nothing (a receiver cancelled as
    // it first sleeps in the child). It acts in the poll below instead.
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    const int old_read = read_fd_.exchange(-1);
    const int old_write = write_fd_.exchange(-1);
    if (old_read >= 0) close(old_read);
    if (old_write >= 0) close(old_write);
    int fds[2];
    if (pipe(fds) == 0) {
      if (SetFlags(fds[0]) && SetFlags(fds[1])) {
        read_fd_.store(fds[0]);
        write_fd_.store(fds[1]);
        pipe_pid_ = pid;
      } else {
        close(fds[0]);
        close(fds[1]);
      }
    }
    pthread_setcancelstate(cancel_state, nullptr);
  }
  const int fd = read_fd_.load();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (word->load(std::memory_order_relaxed) != expected) return;
  if (fd < 0) {
    // No descriptor to spare (EMFILE): nothing can wake us, so look again
    // every millisecond. Slower, never stuck; the next Wait tries again.
    struct timespec slice = {0, 1000 * 1000};
    if (timeout != nullptr && timeout->tv_sec == 0 &&
        timeout->tv_nsec < slice.tv_nsec) {
      slice = *timeout;
    }
    nanosleep(&slice, nullptr);
    return;
  }
  struct pollfd readable = {fd, POLLIN, 0};
  // EINTR, EAGAIN and ENOMEM end this sleep early, which callers allow
  // (they look at the word again); EFAULT or EINVAL cannot happen with one
  // descriptor on the stack.
  if (poll(&readable, 1, TimeoutMillis(timeout)) < 0 && errno != EINTR &&
      errno != EAGAIN && errno != ENOMEM) {
    Fatal("poll on the wake-up pipe failed", 0, errno);
  }
  char drained[64];
  while (read(fd, drained, sizeof(drained)) > 0) {
  }
}

namespace {

// write(2) is a cancellation point, and Wake runs in portsig's signal
// handler on whatever thread the kernel picked: a host thread with a
// cancellation pending would be cancelled inside the handler, at the
// instruction the signal interrupted, and the wake-up would never be
// written. The raw system call is no cancellation point; where the system
// has none to call, write(2) it is (the one exposure left). TSan does not
// intercept syscall(2), so it does not see this write: parker_test makes
// the same write with write(2) after a Wake, where it does.
ssize_t WriteWithoutCancellation(int fd, const char* byte) {
#ifdef SYS_write
  return static_cast<ssize_t>(syscall(SYS_write, fd, byte, 1));
#else
  return write(fd, byte, 1);
#endif
}

}  // namespace

void Parker::Wake(std::atomic<uint32_t>* word) {
  static_cast<void>(word);  // The pipe, not the word, is what sleeps.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Acquire: the descriptor was made (pipe, fcntl) by the sleeper's first
  // Wait before it stored it, and the write below must come after that.
  // The fence above orders the caller's change of the word before this
  // load, but, standing before the load, it makes nothing the sleeper did
  // before its store visible here (and TSan does not model fences at all):
  // a relaxed load left the write unordered with pipe(), which TSan reported
  // as a data race on the descriptor while Wake wrote with write(2).
  const int fd = write_fd_.load(std::memory_order_acquire);
  if (fd < 0) return;  // The sleeper has no pipe and polls the word.
  const char byte = 1;
  // Non-blocking: a full pipe already holds a wake-up.
  while (WriteWithoutCancellation(fd, &byte) < 0 && errno == EINTR) {
  }
}

}  // namespace platform
}  // namespace portsig
