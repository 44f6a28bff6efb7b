// ReceiverSlot: where one thread that blocks until a signal reaches it
// (SignalChannel::Receive) sleeps, so that the signal handler can wake it
// directly rather than wake the dispatcher to wake it.
//
// Promises:
// - To the owner (one thread at a time, the one that claimed the slot from
//   SleepingReceivers): after Announce(), every Wake() until Withdraw() is
//   for this sleep. A Wake() that comes between the owner's last look at
//   what it waits for and its Sleep() is not lost: Sleep() then returns at
//   once. Withdraw() says whether a Wake() came.
// - Sleep() is a cancellation point (pthread_cancel, deferred), as
//   pthread_cond_wait is; it may return early for no reason (a handler ran
//   on this thread, an earlier sleep's wake-up), so the owner looks again.
//   Under TSan it sleeps in slices of at most 10 ms, and a cancellation
//   acts between them (receiver_slot.cc says why); each slice's end is such
//   an early return.
// - To wakers: Wake() is async-signal-safe (an atomic compare-exchange and,
//   only when it wakes a sleeper, a futex wake or a pipe write), keeps
//   errno, and wakes only a sleeper that announced and was not woken since:
//   of any number of racing wakers exactly one wins, so a sender knows
//   whether it handed its signal to this thread. WakeOwn() is the same for
//   a waker on the owner's own thread (portsig's handler interrupting the
//   owner between Announce and Withdraw); on Linux it makes no system call.
//
// The state word and its rules are receiver_slot.cc's; how a wake-up is
// carried is one of two files, chosen by --//platform:os:
// linux (receiver_slot_linux.cc): futex(2) on the state word itself, so
// the kernel compares the word before the owner sleeps and a handler on the
// owner's thread ends the sleep by changing the word alone; the wait is
// made a cancellation point as glibc makes its own futex waits one.
// posix (receiver_slot_posix.cc): platform::Parker's self-pipe, whose
// poll(2) is a cancellation point (macOS has no futex and no unnamed
// semaphores); a wake on the owner's thread still writes the pipe, since
// the owner may be between its look at the word and its poll.
#ifndef PORTSIG_PLATFORM_RECEIVER_SLOT_H_
#define PORTSIG_PLATFORM_RECEIVER_SLOT_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "platform/deadline.h"
#include "platform/parker.h"

// Around Sleep's wait: pthread_cancel unwinds from it (glibc's forced
// unwinding). Caught and rethrown here, in portsig's own frame, so that
// AddressSanitizer unpoisons the stack as it does before every throw (it
// does not for glibc's unwinding); otherwise the cleanups that run above
// (the receiver's leaving, which delivers) reuse stack still poisoned by
// the frames unwound and report false errors. catch (...), not
// abi::__forced_unwind&: that exception has no object to bind to.
#define PORTSIG_RETHROW_CANCELLATION_BEGIN try {
#define PORTSIG_RETHROW_CANCELLATION_END \
  }                                      \
  catch (...) {                          \
    throw;                               \
  }

namespace portsig {
namespace platform {

class ReceiverSlot {
 public:
  ReceiverSlot();
  ~ReceiverSlot();
  ReceiverSlot(const ReceiverSlot&) = delete;
  ReceiverSlot& operator=(const ReceiverSlot&) = delete;

  // Owner side. From now on a Wake() is for this sleep; the owner then
  // looks at what it waits for and sleeps only if there is nothing.
  void Announce();
  // Sleeps until a Wake() since Announce(), or `deadline`; see above.
  void Sleep(const Deadline& deadline);
  // No longer asleep (wakers pass this slot by); true if a Wake() came
  // since Announce().
  bool Withdraw();

  // Waker side; see above.
  bool Wake();
  // Wake() from the owner's own thread, interrupted between Announce() and
  // Withdraw() (SleepingReceivers knows its thread's slot).
  bool WakeOwn();

  // In a forked child: the parent's sleeper is not in this process.
  void ResetAfterFork();

 private:
  enum : uint32_t { kAwake = 0, kSleeping = 1, kWoken = 2 };

  // Per layer (receiver_slot_linux.cc, receiver_slot_posix.cc):
  // drops wake-ups carried for an earlier sleep that had already ended;
  void ClearCarriedWakes();
  // waits for CarryWake() or `deadline`, may return early;
  void WaitForWake(const Deadline& deadline);
  // ends WaitForWake; async-signal-safe.
  void CarryWake();
  // CarryWake's part when the waker is the owner's own thread.
  void CarryOwnWake();
  // Wake() and WakeOwn(): the state word's change, then `carry`.
  bool WakeCarrying(void (ReceiverSlot::*carry)());

  std::atomic<uint32_t> state_{kAwake};
  Parker parker_;
};

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_RECEIVER_SLOT_H_
