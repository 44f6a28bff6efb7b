// SignalChannel: Go's buffered `chan os.Signal`, for C++.
//
// Each buffered entry is a Delivery (the signal with its sender and
// occurrence count); Receive returns only the signal, ReceiveDelivery the
// whole record. Both take from the same buffer.
//
// Delivery never blocks the thread delivering (the dispatcher, or whichever
// thread holds the queue's receive role): a channel that is full drops the
// delivery and counts it in dropped(). As in Go, a delivery that finds a
// receiver blocked in a receive (Receive, ReceiveFor, ReceiveUntil or
// their Delivery forms) is handed to that receiver (the one that has
// waited longest), and only it can take it: TryReceive, size() and ReadyFd
// see only the buffer. Otherwise it is buffered if there is room. Capacity
// 0 is unbuffered: a signal is handed over only if a receiver is blocked at
// that moment, and TryReceive always finds nothing. Receiving is
// thread-safe. Destroying a channel that is still registered stops it
// first, so nothing is delivered into freed memory.
//
// A blocked receiver sleeps on portsig's signal queue itself, so the
// signal handler wakes it without the dispatcher (one thread wake-up, none
// when the kernel ran the handler on that thread); woken, it delivers what
// is queued to every channel and context that wants it, then looks at its
// own. While it spins first (Options::spin_before_sleep) it takes signals
// from the queue the same way. So a receiving thread may run other
// subscribers' deliveries (runtime.h, QueueSleeper and QueuePoller).
//
// Cancellation (pthread_cancel, deferred): Receive, ReceiveFor,
// ReceiveUntil and their Delivery forms are cancellation points while they
// wait, and nowhere else; every other call here holds cancellation off. A
// cancelled receiver leaves the channel: it is no longer counted as blocked,
// and a delivery already handed to it, not yet returned, goes to the next
// blocked receiver, else into the buffer if there is room, else is dropped: it
// then moves from delivered() to dropped(). So delivered() + dropped()
// always counts every delivery offered, and delivered() those a receiver
// got or the buffer holds.
//
// Destruction while threads wait (a static channel at exit(), with a
// detached thread looping on Receive; or another thread deleting it): the
// destructor never waits for them and frees nothing they use. It stops the
// channel and discards what it holds; what receivers need lives on, apart
// from the channel, until the last of them has left. A thread blocked in
// Receive or ReceiveDelivery then stays blocked for ever, as a goroutine
// receiving from a channel nothing sends to does: it never returns into
// the destroyed object, costs only its own thread and a few hundred bytes,
// and does not delay exit(), which ends the process around it. A thread
// blocked in a ...For or ...Until receive returns nothing at its
// deadline. Either can still be cancelled (pthread_cancel), which frees
// what the last one held. A delivery handed to a receiver that had not yet
// returned it when the channel was destroyed is discarded with the
// buffer. Calling into a channel after its destructor has begun remains
// undefined, as for any C++ object: destroy it when no thread will call it
// again, or let those calls be ones already blocked.
//
// Thread safety. Distinct objects: safe. Shared objects: safe for every
// member function and for Notify/Stop on it: any number of threads may
// receive, try, poll ReadyFd, read the counters, Notify and Stop one
// channel at the same time. Destruction is the exception: another thread
// may be blocked inside a receive when the destructor runs (see above),
// but no call may begin once it has. Nothing here may be called from a
// signal handler: every call may take locks or allocate.
#ifndef PORTSIG_OS_SIGNAL_CHANNEL_H_
#define PORTSIG_OS_SIGNAL_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "os_signal/delivery.h"
#include "os_signal/signal_value.h"

namespace portsig {
class ChannelGroup;
namespace os_signal_internal {
class ChannelState;
class GroupState;
class Subscriber;
}  // namespace os_signal_internal

class SignalChannel final {
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
  // Blocks up to `timeout`, or until `deadline`: nothing if no signal came
  // by then. A timeout of zero or less, or a deadline already past, does
  // not wait (but still hands over a signal buffered, or delivered to a
  // receiver of an unbuffered channel while it looks).
  std::optional<Signal> ReceiveFor(absl::Duration timeout);
  std::optional<Signal> ReceiveUntil(absl::Time deadline);

  // The same, with who sent the signal and how many occurrences it stands
  // for (see delivery.h).
  Delivery ReceiveDelivery();
  std::optional<Delivery> TryReceiveDelivery();
  std::optional<Delivery> ReceiveDeliveryFor(absl::Duration timeout);
  std::optional<Delivery> ReceiveDeliveryUntil(absl::Time deadline);

  // A descriptor that polls readable while the channel holds a signal, for
  // poll/epoll/libuv/Asio loops; read signals with TryReceive. Created on
  // first call and owned by the channel. After fork() the child's channel
  // makes a descriptor of its own at its first use there (closing the
  // child's copy of the inherited one): a child calls ReadyFd again.
  // ResourceExhausted if portsig's dispatcher thread cannot be made (see
  // signal.h). A loop consuming many channels polls one ChannelGroup
  // (channel_group.h) instead.
  absl::StatusOr<int> ReadyFd();

  size_t capacity() const { return capacity_; }
  // Signals waiting in the buffer.
  size_t size() const;
  // Deliveries accepted into this channel (see Cancellation above).
  uint64_t delivered() const;
  // Deliveries that found the channel full (or, unbuffered, no receiver),
  // and those whose receiver was cancelled before returning them and that
  // nobody else could take.
  uint64_t dropped() const;
  // The signal occurrences those dropped deliveries stood for (see
  // Delivery::occurrences): what a full channel cost, counted.
  uint64_t dropped_occurrences() const;

 private:
  friend class HandlerMapAccess;
  friend class ChannelGroup;
  // ChannelGroup::Add and Remove, under the channel's lock; the Status
  // names this channel.
  absl::Status JoinGroup(
      const std::shared_ptr<os_signal_internal::GroupState>& group);
  absl::Status LeaveGroup(const os_signal_internal::GroupState* group);
  // What Notify and Stop register: the state, which takes deliveries.
  os_signal_internal::Subscriber* AsSubscriber();

  const size_t capacity_;
  // Everything receivers use, apart from the channel, and what the handler
  // map delivers into: it outlives the channel while a receiver is still
  // inside (see above).
  os_signal_internal::ChannelState* const state_;
};

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_CHANNEL_H_
