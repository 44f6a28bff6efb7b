// Parker: where one sleeping thread waits for a 32-bit word to change, and
// how a waker, possibly a signal handler, ends that wait. OneShotWakeup
// (the dispatcher's sleep) parks on one, and so does ReceiverSlot (a
// receiver's sleep on the queue).
//
// Two implementations behind this header, chosen at build time by
// --//platform:os (CMake: PORTSIG_OS):
// - linux (parker_linux.cc): futex(2) on the word itself.
// - posix (parker_posix.cc), for any POSIX system: a self-pipe. The sleeper
//   polls the read end; Wake writes one byte, which POSIX makes
//   async-signal-safe everywhere. (sem_post is too, but sem_init does not
//   exist on macOS, which is why Go's runtime uses a pipe on Darwin.)
// Wait is a cancellation point on the posix layer (poll(2)), which
// ReceiverSlot relies on there, and not on Linux (a raw futex wait is none;
// ReceiverSlot makes it one there itself).
//
// Written by hand because no library offers a wait that a signal handler
// may end.
#ifndef PORTSIG_PLATFORM_PARKER_H_
#define PORTSIG_PLATFORM_PARKER_H_

#include <time.h>

#include <atomic>
#include <cstdint>

namespace portsig {
namespace platform {

class Parker {
 public:
  Parker() = default;
  ~Parker();
  Parker(const Parker&) = delete;
  Parker& operator=(const Parker&) = delete;

  // Sleeps while *word == expected, until Wake(word), a signal handler ran,
  // or `timeout` (relative; null: none) passed. May return early for no
  // reason (on Linux under TSan the futex wait is made in slices of at most
  // 5 ms); callers re-check their condition and the time. One thread waits
  // at a time.
  void Wait(std::atomic<uint32_t>* word, uint32_t expected,
            const struct timespec* timeout = nullptr);
  // Ends a Wait on `word`; call it after changing *word. Async-signal-safe;
  // keeps errno only if the caller does (portsig's handler does).
  void Wake(std::atomic<uint32_t>* word);

 private:
  // The self-pipe of parker_posix.cc, made by the first Wait in each
  // process (a forked child makes its own); the futex needs none, hence
  // maybe_unused.
  [[maybe_unused]] std::atomic<int> read_fd_{-1};
  [[maybe_unused]] std::atomic<int> write_fd_{-1};
  [[maybe_unused]] int pipe_pid_ = 0;
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_PARKER_H_
