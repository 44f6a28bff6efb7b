#include "os_signal/channel.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "os_signal/handler_map.h"
#include "platform/spin.h"
#include "runtime/runtime.h"

namespace portsig {
namespace {

// How often a receiver looks at the queue itself while no dispatcher runs
// (a forked child in which no thread could be made).
constexpr absl::Duration kNoDispatcherPoll = absl::Milliseconds(10);

// Whether signals reach channels without the caller's help: the dispatcher
// runs, or could be started now. Otherwise delivers what is queued on this
// thread. Hold no channel's lock.
bool DispatchedOrDeliveredHere() {
  if (runtime::EnsureDispatcher().ok()) return true;
  runtime::DeliverQueued();
  return false;
}

std::optional<Signal> SignalOf(std::optional<Delivery> delivery) {
  if (!delivery.has_value()) return std::nullopt;
  return std::move(delivery->signal);
}

}  // namespace

struct SignalChannel::Waiter {
  // What Deliver handed to this receiver; only it takes it.
  std::optional<Delivery> handed;
  // handed.has_value(), for the receiver to watch while it spins.
  std::atomic<bool> filled{false};
  // The receiver returned `handed`.
  bool taken = false;
};

class SignalChannel::WaiterExit {
 public:
  WaiterExit(SignalChannel* channel, Waiter* waiter)
      : channel_(channel), waiter_(waiter) {}
  WaiterExit(const WaiterExit&) = delete;
  WaiterExit& operator=(const WaiterExit&) = delete;
  // Runs after the MutexLock of the scope that returns (or unwinds) is
  // gone, so it takes the lock itself.
  ~WaiterExit() {
    MutexLock lock(&channel_->mu_);
    channel_->LeaveLocked(waiter_);
  }

 private:
  SignalChannel* const channel_;
  Waiter* const waiter_;
};

SignalChannel::SignalChannel(size_t capacity)
    : capacity_(capacity), receivers_generation_(runtime::ForkGeneration()) {}

void SignalChannel::ForgetParentsReceiversLocked() {
  const uint64_t generation = runtime::ForkGeneration();
  if (generation == receivers_generation_) return;
  receivers_generation_ = generation;
  waiters_.clear();
  nonempty_.ReinitInChild();
}

SignalChannel::~SignalChannel() {
  ScopedCancellationOff cancellation;
  os_signal_internal::HandlerMap::Get().Remove(AsSubscriber());
  MutexLock lock(&mu_);
  ready_.Close();
}

bool SignalChannel::Deliver(const Delivery& delivery,
                            os_signal_internal::BeforePublish* before_publish) {
  MutexLock lock(&mu_);
  ForgetParentsReceiversLocked();
  if (!waiters_.empty()) {
    // Handed to the receiver that has waited longest: the buffer is empty
    // while one waits, and only that receiver can take it.
    if (before_publish != nullptr) before_publish->Run();
    Waiter* waiter = waiters_.front();
    waiters_.erase(waiters_.begin());
    waiter->handed = delivery;
    waiter->filled.store(true, std::memory_order_release);
    delivered_.fetch_add(1, std::memory_order_relaxed);
    // Every blocked receiver looks; only the one handed it leaves.
    nonempty_.SignalAll();
    return true;
  }
  if (buffer_.size() >= capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    dropped_occurrences_.fetch_add(delivery.occurrences,
                                   std::memory_order_relaxed);
    return false;
  }
  // Taken: no receiver can see it before the lock is released.
  if (before_publish != nullptr) before_publish->Run();
  buffer_.push_back(delivery);
  delivered_.fetch_add(1, std::memory_order_relaxed);
  if (ReadyFdLocked() >= 0 && buffer_.size() == 1) ready_.Set();
  return true;
}

Delivery SignalChannel::TakeLocked() {
  Delivery delivery = std::move(buffer_.front());
  buffer_.erase(buffer_.begin());
  if (ReadyFdLocked() >= 0 && buffer_.empty()) ready_.Clear();
  return delivery;
}

void SignalChannel::LeaveLocked(Waiter* waiter) {
  if (waiter->taken) return;
  if (waiter->handed.has_value()) {
    OfferAgainLocked(*std::move(waiter->handed));
    return;
  }
  // Not handed anything, so still listed (unless a fork forgot the list).
  auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
  if (it != waiters_.end()) waiters_.erase(it);
}

void SignalChannel::OfferAgainLocked(Delivery delivery) {
  if (!waiters_.empty()) {
    Waiter* next = waiters_.front();
    waiters_.erase(waiters_.begin());
    next->handed = std::move(delivery);
    next->filled.store(true, std::memory_order_release);
    nonempty_.SignalAll();
    return;
  }
  if (buffer_.size() < capacity_) {
    // No waiter now means none since it was handed over, when the buffer
    // was empty: whatever the buffer holds came later.
    buffer_.insert(buffer_.begin(), std::move(delivery));
    if (ReadyFdLocked() >= 0 && buffer_.size() == 1) ready_.Set();
    return;
  }
  delivered_.fetch_sub(1, std::memory_order_relaxed);
  dropped_.fetch_add(1, std::memory_order_relaxed);
  dropped_occurrences_.fetch_add(delivery.occurrences,
                                 std::memory_order_relaxed);
}

std::optional<Delivery> SignalChannel::ReceiveUntil(absl::Time deadline) {
  // Cancellation may act only where this thread waits (see channel.h).
  ScopedCancellationOff cancellation;
  // Without a dispatcher, WaitLocked looks for signals itself.
  (void)runtime::EnsureDispatcher();
  Waiter waiter;
  {
    MutexLock lock(&mu_);
    ForgetParentsReceiversLocked();
    if (!buffer_.empty()) return TakeLocked();
    // Listed while spinning too, so an unbuffered channel hands over.
    waiters_.push_back(&waiter);
  }
  // No cancellation point between listing and this: it unlists the waiter
  // however the thread leaves, pthread_cancel's unwinding included.
  WaiterExit exit(this, &waiter);
  if (platform::SpinEnabled()) {
    // While it spins, this thread takes signals from the queue itself, for
    // every subscriber: the dispatcher need not wake to hand them on.
    // Registered at the first look, after the spin_started test hook.
    // Cancellation may act while it spins, but not while it delivers.
    std::optional<runtime::QueuePoller> poller;
    cancellation.Allow();
    platform::SpinUntil(
        [&] {
          if (waiter.filled.load(std::memory_order_acquire)) return true;
          cancellation.Disallow();
          if (!poller.has_value()) poller.emplace();
          poller->Poll();
          cancellation.Allow();
          return waiter.filled.load(std::memory_order_acquire);
        },
        deadline);
    cancellation.Disallow();
  }  // Unregistering may deliver, into this channel too: before the lock.
  MutexLock lock(&mu_);
  return WaitLocked(&waiter, deadline, &cancellation);
}

std::optional<Delivery> SignalChannel::WaitLocked(
    Waiter* waiter, absl::Time deadline, ScopedCancellationOff* cancellation) {
  while (!waiter->handed.has_value()) {
    if (!runtime::DispatcherRunning()) {
      // No thread could be made for the dispatcher: deliver what is queued
      // here, and look again every kNoDispatcherPoll (nothing wakes this
      // thread when a signal is queued), trying to start it each time.
      mu_.Unlock();
      const bool dispatched = DispatchedOrDeliveredHere();
      mu_.Lock();
      if (waiter->handed.has_value()) break;
      if (!dispatched) {
        cancellation->Allow();
        const bool timed_out = nonempty_.WaitWithDeadline(
            &mu_, std::min(deadline, absl::Now() + kNoDispatcherPoll));
        cancellation->Disallow();
        if (timed_out && absl::Now() >= deadline &&
            !waiter->handed.has_value()) {
          return std::nullopt;
        }
        continue;
      }
    }
    cancellation->Allow();
    const bool timed_out = nonempty_.WaitWithDeadline(&mu_, deadline);
    cancellation->Disallow();
    if (timed_out && !waiter->handed.has_value()) return std::nullopt;
  }
  waiter->taken = true;
  return *std::move(waiter->handed);
}

Delivery SignalChannel::ReceiveDelivery() {
  return *ReceiveUntil(absl::InfiniteFuture());
}

std::optional<Delivery> SignalChannel::ReceiveDeliveryFor(
    absl::Duration timeout) {
  return ReceiveUntil(absl::Now() + timeout);
}

std::optional<Delivery> SignalChannel::TryReceiveDelivery() {
  ScopedCancellationOff cancellation;
  (void)DispatchedOrDeliveredHere();
  MutexLock lock(&mu_);
  if (buffer_.empty()) return std::nullopt;
  return TakeLocked();
}

Signal SignalChannel::Receive() { return ReceiveDelivery().signal; }

std::optional<Signal> SignalChannel::ReceiveFor(absl::Duration timeout) {
  return SignalOf(ReceiveDeliveryFor(timeout));
}

std::optional<Signal> SignalChannel::TryReceive() {
  return SignalOf(TryReceiveDelivery());
}

int SignalChannel::MakeReadyFdLocked() {
  const int fd = ready_.Open();
  ready_fd_generation_ = runtime::ForkGeneration();
  if (fd >= 0 && !buffer_.empty()) ready_.Set();
  return fd;
}

int SignalChannel::ReadyFdLocked() {
  if (ready_.fd() < 0) return -1;
  if (runtime::ForkGeneration() != ready_fd_generation_) {
    // Open closes our copy, which leaves the parent's descriptor alone.
    return MakeReadyFdLocked();
  }
  return ready_.fd();
}

absl::StatusOr<int> SignalChannel::ReadyFd() {
  // The descriptor turns readable only when a signal is delivered, which
  // without a dispatcher nobody would do while the host polls it.
  ScopedCancellationOff cancellation;
  if (absl::Status started = runtime::EnsureDispatcher(); !started.ok()) {
    return started;
  }
  MutexLock lock(&mu_);
  int fd = ready_.fd() < 0 ? MakeReadyFdLocked() : ReadyFdLocked();
  if (fd < 0) return absl::ErrnoToStatus(errno, "SignalChannel::ReadyFd");
  return fd;
}

size_t SignalChannel::size() const {
  MutexLock lock(&mu_);
  return buffer_.size();
}

}  // namespace portsig
