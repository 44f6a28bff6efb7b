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

SignalChannel::SignalChannel(size_t capacity)
    : capacity_(capacity), receivers_generation_(runtime::ForkGeneration()) {}

void SignalChannel::ForgetParentsReceiversLocked() {
  const uint64_t generation = runtime::ForkGeneration();
  if (generation == receivers_generation_) return;
  receivers_generation_ = generation;
  blocked_receivers_ = 0;
  nonempty_.ReinitInChild();
}

SignalChannel::~SignalChannel() {
  os_signal_internal::HandlerMap::Get().Remove(AsSubscriber());
  MutexLock lock(&mu_);
  ready_.Close();
}

bool SignalChannel::Deliver(const Delivery& delivery,
                            os_signal_internal::BeforePublish* before_publish) {
  MutexLock lock(&mu_);
  ForgetParentsReceiversLocked();
  // Room for capacity_ signals plus one per blocked receiver, compared
  // without adding them: capacity_ may be SIZE_MAX.
  if (buffer_.size() >= capacity_ &&
      buffer_.size() - capacity_ >= blocked_receivers_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    dropped_occurrences_.fetch_add(delivery.occurrences,
                                   std::memory_order_relaxed);
    return false;
  }
  // Taken: no receiver can see it before the lock is released.
  if (before_publish != nullptr) before_publish->Run();
  buffer_.push_back(delivery);
  buffered_.store(buffer_.size(), std::memory_order_release);
  delivered_.fetch_add(1, std::memory_order_relaxed);
  if (ReadyFdLocked() >= 0 && buffer_.size() == 1) ready_.Set();
  // Every blocked receiver looks; those that find nothing wait again.
  nonempty_.SignalAll();
  return true;
}

Delivery SignalChannel::TakeLocked() {
  Delivery delivery = std::move(buffer_.front());
  buffer_.erase(buffer_.begin());
  buffered_.store(buffer_.size(), std::memory_order_relaxed);
  if (ReadyFdLocked() >= 0 && buffer_.empty()) ready_.Clear();
  return delivery;
}

std::optional<Delivery> SignalChannel::ReceiveUntil(absl::Time deadline) {
  // Without a dispatcher, WaitLocked looks for signals itself.
  (void)runtime::EnsureDispatcher();
  if (platform::SpinEnabled()) {
    {
      MutexLock lock(&mu_);
      ForgetParentsReceiversLocked();
      if (!buffer_.empty()) return TakeLocked();
      // Counted while spinning too, so an unbuffered channel hands over.
      ++blocked_receivers_;
    }
    {
      // While it spins, this thread takes signals from the queue itself, for
      // every subscriber: the dispatcher need not wake to hand them on.
      // Registered at the first look, after the spin_started test hook.
      std::optional<runtime::QueuePoller> poller;
      platform::SpinUntil(
          [&] {
            if (buffered_.load(std::memory_order_acquire) != 0) return true;
            if (!poller.has_value()) poller.emplace();
            poller->Poll();
            return buffered_.load(std::memory_order_acquire) != 0;
          },
          deadline);
    }  // Unregistering may deliver, into this channel too: before the lock.
    MutexLock lock(&mu_);
    return WaitLocked(deadline);
  }
  MutexLock lock(&mu_);
  ForgetParentsReceiversLocked();
  ++blocked_receivers_;
  return WaitLocked(deadline);
}

std::optional<Delivery> SignalChannel::WaitLocked(absl::Time deadline) {
  while (buffer_.empty()) {
    if (!runtime::DispatcherRunning()) {
      // No thread could be made for the dispatcher: deliver what is queued
      // here, and look again every kNoDispatcherPoll (nothing wakes this
      // thread when a signal is queued), trying to start it each time.
      mu_.Unlock();
      const bool dispatched = DispatchedOrDeliveredHere();
      mu_.Lock();
      if (!buffer_.empty()) break;
      if (!dispatched) {
        if (nonempty_.WaitWithDeadline(
                &mu_, std::min(deadline, absl::Now() + kNoDispatcherPoll)) &&
            absl::Now() >= deadline && buffer_.empty()) {
          --blocked_receivers_;
          return std::nullopt;
        }
        continue;
      }
    }
    if (deadline == absl::InfiniteFuture()) {
      nonempty_.Wait(&mu_);
    } else if (nonempty_.WaitWithDeadline(&mu_, deadline) && buffer_.empty()) {
      --blocked_receivers_;
      return std::nullopt;
    }
  }
  --blocked_receivers_;
  return TakeLocked();
}

Delivery SignalChannel::ReceiveDelivery() {
  return *ReceiveUntil(absl::InfiniteFuture());
}

std::optional<Delivery> SignalChannel::ReceiveDeliveryFor(
    absl::Duration timeout) {
  return ReceiveUntil(absl::Now() + timeout);
}

std::optional<Delivery> SignalChannel::TryReceiveDelivery() {
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
