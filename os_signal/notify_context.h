// SignalContext: Go's signal.NotifyContext for C++17.
//
//   absl::StatusOr<portsig::SignalContext> ctx =
//       portsig::NotifyContext({SIGTERM});
//   if (!ctx.ok()) return ctx.status();
//   ctx->Wait();  // or poll ctx->ReadyFd() in an event loop
//
// Becomes done at the first of its signals (or when its parent is done, or
// when stopped), remembers which signal, and stays done. Stop() unregisters
// it, like Stop on a channel, and makes it done; the destructor unregisters
// it too but makes nothing done (see below). Later signals are not relayed
// to it (as in Go, they are absorbed until Stop, then take their previous
// disposition).
//
// A SignalContext is a movable value, as std::thread is: moving it moves
// the subscription (the moved-to object is subscribed, done or not, exactly
// as the original was; nothing is stopped or re-registered), and a parent
// that is moved keeps its children. A moved-from context refers to no
// context: destroy it or assign to it, and call nothing else on it (its
// destructor does nothing). Assigning to a context stops the one it held.
//
// Destroying a context is not stopping it: it is unregistered, but nothing
// is made done and nobody is woken. A thread waiting in Wait on a destroyed
// context stays blocked for ever (it may be cancelled), one in WaitFor or
// WaitUntil returns false at its deadline, as a receiver on a destroyed
// SignalChannel does; what they still read lives until the last of them
// has left, and the destructor waits for none of them. Its running
// children lose their parent and are done only by their own signals or
// Stop. So exit() with a static context (another thread's exit(), say,
// while main waits in it) ends with that exit()'s status: waking main
// would let it return and call exit() while the first still ran. To wake
// waiters or end children, call Stop() (assigning to a context stops the
// one it held).
//
// Thread safety. Distinct objects: safe. Shared objects: safe for every
// member function: any number of threads may wait, look at done(),
// signal() and status(), poll ReadyFd and Stop one context at the same
// time, and a context may be the parent of contexts made on other threads.
// Moving from or assigning to a context, like destroying it, must not race
// with a call beginning on it; destruction while other threads wait is
// allowed (see above), no call may begin once it has. Nothing here may be
// called from a signal handler: every call may take locks or allocate.
//
// Cancellation (pthread_cancel, deferred): Wait, WaitFor and WaitUntil can
// be cancelled while they wait; Stop, ReadyFd, assignment and destruction
// hold cancellation off.
#ifndef PORTSIG_OS_SIGNAL_NOTIFY_CONTEXT_H_
#define PORTSIG_OS_SIGNAL_NOTIFY_CONTEXT_H_

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "os_signal/notify_options.h"
#include "os_signal/signal_value.h"

namespace portsig {

namespace os_signal_internal {
class ContextState;
}

class SignalContext {
 public:
  // Unregisters without making it done (see above); a moved-from one does
  // nothing.
  ~SignalContext();
  SignalContext(SignalContext&& other) noexcept;
  // Stops the context this held, then takes `other`'s.
  SignalContext& operator=(SignalContext&& other) noexcept;
  SignalContext(const SignalContext&) = delete;
  SignalContext& operator=(const SignalContext&) = delete;

  bool done() const;
  void Wait() const;
  // True if done within `timeout`, or by `deadline`. A timeout of zero or
  // less, or a deadline already past, does not wait: it says whether the
  // context is done now.
  bool WaitFor(absl::Duration timeout) const;
  bool WaitUntil(absl::Time deadline) const;
  // A descriptor that polls readable once the context is done, and stays
  // readable, for poll/epoll/libuv/Asio loops (Go's ctx.Done() in a
  // select). Created on first call and owned by the context; a forked
  // child that calls it gets a descriptor of its own, so that neither
  // process's context makes the other's readable. ResourceExhausted if
  // portsig's dispatcher thread cannot be made (see signal.h).
  absl::StatusOr<int> ReadyFd();
  // The signal that made it done, if a signal did.
  std::optional<Signal> signal() const;
  // OK while not done; Cancelled saying why once done ("SIGINT signal
  // received", "parent context done", "context stopped").
  absl::Status status() const;
  // Unregisters; done() becomes true if it was not already. Idempotent.
  void Stop();

 private:
  friend absl::StatusOr<SignalContext> NotifyContext(absl::Span<const Signal>,
                                                     const NotifyOptions&,
                                                     const SignalContext*);
  explicit SignalContext(std::shared_ptr<os_signal_internal::ContextState> s);
  // Null once moved from.
  std::shared_ptr<os_signal_internal::ContextState> state_;
};

// A context done at the first of `signals` (empty: every catchable signal
// and every text note, as for Notify), or when `parent` (optional, must
// outlive nothing: it may go first) is done (stopped or signalled: a
// parent destroyed first just lets the child go). A moved-from parent gets
// InvalidArgument.
absl::StatusOr<SignalContext> NotifyContext(
    absl::Span<const Signal> signals, const SignalContext* parent = nullptr);

// The same with options. With `once`, the context's first signal also
// releases all its signals at once (as Stop() would), so a second Ctrl-C
// takes what portsig stands in for (signal.h) instead of being absorbed.
// queue_capacity has no use for a context and is refused.
absl::StatusOr<SignalContext> NotifyContext(
    absl::Span<const Signal> signals, const NotifyOptions& options,
    const SignalContext* parent = nullptr);

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_NOTIFY_CONTEXT_H_
