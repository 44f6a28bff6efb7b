// Linux futex wait and wake on a 32-bit atomic word.
//
// Used directly, not through a library, because OneShotWakeup needs a wait
// that a signal handler can end with an async-signal-safe wake. Linux only;
// callers keep their own fallback elsewhere.
#ifndef PORTSIG_PLATFORM_FUTEX_H_
#define PORTSIG_PLATFORM_FUTEX_H_

#ifdef __linux__

#include <time.h>

#include <atomic>
#include <cstdint>

namespace portsig {
namespace platform {

// Sleeps while *word == expected, until woken, a signal handler ran, or
// `timeout` (relative; null: none) passed. Returns early (at once if
// *word != expected); callers re-check their condition and the time. In
// TSan builds it sleeps in slices of at most 5 ms and passes through an
// intercepted call after each, since TSan runs a caught signal's handler
// only at such calls.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               const struct timespec* timeout = nullptr);
// Wakes up to `count` threads sleeping on word. Async-signal-safe.
void FutexWake(std::atomic<uint32_t>* word, int count);

}  // namespace platform
}  // namespace portsig

#endif  // __linux__
#endif  // PORTSIG_PLATFORM_FUTEX_H_
