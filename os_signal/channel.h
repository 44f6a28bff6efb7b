// SignalChannel: Go's buffered `chan os.Signal`, for C++.
//
// Each buffered entry is a Delivery (the signal with its sender and
// occurrence count); Receive returns only the signal, ReceiveDelivery the
// whole record. Both take from the same buffer.
//
// Delivery never blocks the dispatcher: a channel that is full drops the
// delivery and counts it in dropped(). As in Go, a delivery that finds a
// receiver blocked in Receive/ReceiveFor is handed to that receiver (the
// one that has waited longest), and only it can take it: TryReceive, size()
// and ReadyFd see only the buffer. Otherwise it is buffered if there is
// room. Capacity 0 is unbuffered: a signal is handed over only if a
// receiver is blocked at that moment, and TryReceive always finds nothing.
// Receiving is thread-safe. Destroying a channel that is still registered
// stops it first, so nothing is delivered into freed memory.
//
// Cancellation (pthread_cancel, deferred): Receive, ReceiveFor and their
// Delivery forms are cancellation points while they wait, and nowhere
// else; every other call here holds cancellation off. A cancelled receiver
// leaves the channel: it is no longer counted as blocked, and a delivery
// already handed to it, not yet returned, goes to the next blocked
// receiver, else into the buffer if there is room, else is dropped: it
// then moves from delivered() to dropped(). So delivered() + dropped()
// always counts every delivery offered, and delivered() those a receiver
// got or the buffer holds.
#ifndef PORTSIG_OS_SIGNAL_CHANNEL_H_
#define PORTSIG_OS_SIGNAL_CHANNEL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "os_signal/delivery.h"
#include "os_signal/signal_value.h"
#include "os_signal/subscriber.h"
#include "platform/readiness_fd.h"
#include "platform/sync.h"

namespace portsig {

class SignalChannel final : private os_signal_internal::Subscriber {
 public:
  explicit SignalChannel(size_t capacity = 1);
  ~SignalChannel();
  SignalChannel(const SignalChannel&) = delete;
  SignalChannel& operator=(const SignalChannel&) = delete;

  // Blocks until a signal is delivered.
  Signal Receive();
  // A buffered signal, if any. Always empty for an unbuffered channel, whose
  // deliveries only go to blocked receivers.
  std::optional<Signal> TryReceive();
  // Blocks up to `timeout`.
  std::optional<Signal> ReceiveFor(absl::Duration timeout);

  // The same, with who sent the signal and how many occurrences it stands
  // for (see delivery.h).
  Delivery ReceiveDelivery();
  std::optional<Delivery> TryReceiveDelivery();
  std::optional<Delivery> ReceiveDeliveryFor(absl::Duration timeout);

  // A descriptor that polls readable while the channel holds a signal, for
  // poll/epoll/libuv/Asio loops; read signals with TryReceive. Created on
  // first call and owned by the channel.
  absl::StatusOr<int> ReadyFd();

  size_t capacity() const { return capacity_; }
  // Signals waiting in the buffer.
  size_t size() const;
  // Deliveries accepted into this channel (see Cancellation above).
  uint64_t delivered() const { return delivered_.load(); }
  // Deliveries that found the channel full (or, unbuffered, no receiver),
  // and those whose receiver was cancelled before returning them and that
  // nobody else could take.
  uint64_t dropped() const { return dropped_.load(); }
  // The signal occurrences those dropped deliveries stood for (see
  // Delivery::occurrences): what a full channel cost, counted.
  uint64_t dropped_occurrences() const { return dropped_occurrences_.load(); }

 private:
  friend class HandlerMapAccess;
  bool Deliver(const Delivery& delivery,
               os_signal_internal::BeforePublish* before_publish) override;
  // A receiver blocked in ReceiveUntil, on its own stack.
  struct Waiter;
  // Unlists a waiter on every way out of ReceiveUntil, cancellation too.
  class WaiterExit;
  std::optional<Delivery> ReceiveUntil(absl::Time deadline);
  // The rest of ReceiveUntil, for a listed (or already handed) waiter.
  std::optional<Delivery> WaitLocked(Waiter* waiter, absl::Time deadline,
                                     ScopedCancellationOff* cancellation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A waiter leaves without having returned a delivery: it is unlisted, or
  // what was handed to it is offered again.
  void LeaveLocked(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Offers a delivery already counted in delivered_ whose receiver left
  // without it: to the next waiter, else the buffer's front, else dropped.
  void OfferAgainLocked(Delivery delivery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Delivery TakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // First thing under mu_ in a forked child: none of the parent's threads
  // waiting here came along. Forgets them, in waiters_ and in nonempty_,
  // whose copy still counts them: glibc's broadcast would wait for them to
  // leave, and the child's dispatcher would hang in Deliver.
  void ForgetParentsReceiversLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The ready descriptor, made anew if this process forked since it was
  // created (the inherited one is shared with the parent); -1 if none.
  int ReadyFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes a fresh ready descriptor for this process, readable if the
  // channel holds a signal; -1 (errno set) on failure.
  int MakeReadyFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  os_signal_internal::Subscriber* AsSubscriber() { return this; }

  const size_t capacity_;
  mutable ForkSafeMutex mu_;
  ForkSafeCondVar nonempty_;
  absl::InlinedVector<Delivery, 1> buffer_ ABSL_GUARDED_BY(mu_);
  // Receivers blocked right now, spinning or parked, and not yet handed a
  // delivery, longest waiting first. While there is one, buffer_ is empty.
  absl::InlinedVector<Waiter*, 1> waiters_ ABSL_GUARDED_BY(mu_);
  platform::ReadinessFd ready_ ABSL_GUARDED_BY(mu_);
  uint64_t ready_fd_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The runtime's fork generation whose threads waiters_ lists.
  uint64_t receivers_generation_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> dropped_occurrences_{0};
};

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_CHANNEL_H_
