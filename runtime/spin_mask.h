// SpinMask: while a thread spins waiting for a signal (the spin budget,
// platform/spin.h), the signals portsig catches are blocked on that thread,
// so that the kernel gives one sent to the process to a thread that does
// not block it, usually the sending thread itself, which runs portsig's
// handler as kill() returns, and the spinning thread takes the signal from
// the queue at its next look.
//
// Why: a signal the kernel gives to a thread running on another processor
// is handled there only after an inter-processor interrupt, which the
// sender raises holding the process's signal lock. On this project's VMs
// that is ~25 us from kill() to the handler, whether the thread spins in
// user mode or in sched_yield; a sleeping thread is woken in ~12 us, and the
// sender's own handler plus the spinner's next look take ~5 us
// (BENCHMARKS.md: the spin budget, kernel placement). Spinning is for
// latency, so the spinner should not be the thread the kernel interrupts.
//
// Promises, to the thread that spins (SignalChannel's Receive):
// - It blocks only signals the queue wants when it is made (subscribed, with
//   portsig's handler), never a synchronous one (SIGSEGV, SIGBUS, SIGFPE,
//   SIGILL, SIGTRAP, SIGSYS: a fault raised with its signal blocked kills
//   the process), and it leaves alone any the thread blocked already.
// - Nothing waits behind it: Check(), called at each look of the spin,
//   unblocks at once if one of those signals is pending, for the process
//   (no other thread takes it: every other thread blocks it) or for this
//   thread (pthread_kill, tgkill), so the handler runs here and the spin
//   takes the signal as it would have without the mask. The destructor
//   unblocks the rest. Either way the thread's mask ends as it was, except
//   for changes made to other signals meanwhile, which stay.
// - Cost: two pthread_sigmask calls per spin and one sigpending per look,
//   only when a spin budget is set; none is a cancellation point.
// - What a host may notice: a kill() to its own process sent just as a
//   spinning thread unblocks may run the handler on the spinner rather than
//   on the sender before kill() returns; and a signal sent to the spinning
//   thread alone runs its handler at the spinner's next look (a few us)
//   rather than at once.
// On the thread that made it only; not for a signal handler.
#ifndef PORTSIG_RUNTIME_SPIN_MASK_H_
#define PORTSIG_RUNTIME_SPIN_MASK_H_

#include <signal.h>

namespace portsig {
namespace runtime {

class SpinMask {
 public:
  SpinMask();
  ~SpinMask() { Unblock(); }
  SpinMask(const SpinMask&) = delete;
  SpinMask& operator=(const SpinMask&) = delete;

  // Unblocks now if a signal this blocked is pending for the process or
  // the thread.
  void Check();

 private:
  void Unblock();

  // What this blocked that the thread did not block before.
  sigset_t blocked_;
  bool active_ = false;
};

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_SPIN_MASK_H_
