#include "os_signal/channel.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "os_signal/group_state.h"
#include "os_signal/handler_map.h"
#include "platform/deadline.h"
#include "platform/readiness_fd.h"
#include "platform/spin.h"
#include "platform/sync.h"
#include "platform/test_hooks.h"
#include "runtime/runtime.h"
#include "runtime/spin_mask.h"

namespace portsig {
namespace os_signal_internal {
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

}  // namespace

// What a channel's receivers use. The channel owns it until its destructor
// closes it; from then on the receivers still inside own it, and the last
// to leave deletes it. So a channel destroyed while a thread waits in it
// (a static channel at exit(), a detached receiver) neither waits for that
// thread nor frees what it uses: glibc's pthread_cond_destroy waits for
// the condition variable's waiters, and a receiver blocked in Receive
// never leaves by itself. As absl::Mutex and Go's channels, whose waiters
// hold what they wait on, rather than the object being destroyed.
//
// It is also the subscriber the handler map delivers into, so the public
// header needs neither subscriber.h nor anything of the state; Home() is
// the channel, whose address says on which thread's stack it lives.
class ChannelState final : public Subscriber {
 public:
  ChannelState(const SignalChannel* channel, size_t capacity)
      : channel_(channel),
        capacity_(capacity),
        receivers_generation_(runtime::ForkGeneration()) {}
  ChannelState(const ChannelState&) = delete;
  ChannelState& operator=(const ChannelState&) = delete;

  bool Deliver(const Delivery& delivery,
               BeforePublish* before_publish) override;
  const void* Home() const override { return channel_; }
  std::optional<Delivery> Receive(const platform::Deadline& deadline);
  std::optional<Delivery> TryReceive();
  absl::StatusOr<int> ReadyFd();
  size_t size() const;
  // Joins `group` / leaves it (see SignalChannel::JoinGroup); `channel` is
  // the channel this state belongs to, named in errors.
  absl::Status JoinGroup(SignalChannel* channel,
                         const std::shared_ptr<GroupState>& group);
  absl::Status LeaveGroup(SignalChannel* channel, const GroupState* group);
  // The channel is gone (unregistered already): nothing is delivered any
  // more. Discards what it holds, closes the ready descriptor, and deletes
  // this now, or when the last receiver inside leaves.
  void Close();

  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> dropped_occurrences{0};

 private:
  // A receiver blocked in Receive, on its own stack.
  struct Waiter {
    // Where it sleeps (runtime.h); it outlives the waiter's listing.
    runtime::QueueSleeper* sleeper = nullptr;
    // What Deliver handed to this receiver; only it takes it.
    std::optional<Delivery> handed;
    // handed.has_value(), for the receiver to watch while it spins.
    std::atomic<bool> filled{false};
    // The receiver returned `handed`, or has nothing more to do here.
    bool taken = false;
  };

  // Takes a receiver out however it leaves Receive, pthread_cancel's
  // unwinding included, and deletes the state if it was the last one
  // inside a closed channel.
  class WaiterExit {
   public:
    WaiterExit(ChannelState* state, Waiter* waiter)
        : state_(state), waiter_(waiter) {}
    WaiterExit(const WaiterExit&) = delete;
    WaiterExit& operator=(const WaiterExit&) = delete;
    // Runs after the MutexLock of the scope that returns (or unwinds) is
    // gone, so it takes the lock itself.
    ~WaiterExit() {
      bool last;
      {
        MutexLock lock(&state_->mu_);
        last = state_->LeaveLocked(waiter_);
      }
      if (last) delete state_;
    }

   private:
    ChannelState* const state_;
    Waiter* const waiter_;
  };

  // The rest of Receive, for a receiver inside, which sleeps on the
  // signal queue itself (runtime::QueueSleeper) so that the handler can
  // wake it without the dispatcher. Takes mu_ for each look.
  std::optional<Delivery> Wait(Waiter* waiter,
                               const platform::Deadline& deadline,
                               ScopedCancellationOff* cancellation)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A receiver leaves: unlisted, or what was handed to it and not returned
  // is offered again. True if it was the last inside a closed channel.
  bool LeaveLocked(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Offers a delivery already counted in `delivered` whose receiver left
  // without it: to the next waiter, else the buffer's front, else dropped.
  void OfferAgainLocked(Delivery delivery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands a delivery to the receiver that has waited longest.
  void HandLocked(Delivery delivery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Delivery TakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The buffer went from empty to holding a signal, or back: tells the
  // ready descriptor and the group, if any.
  void NowReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NowEmptyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // First thing under mu_ in a forked child: none of the parent's threads
  // inside came along. Forgets them, in waiters_ and inside_, so that
  // nothing is handed to a receiver (and its sleeper) of the parent's.
  void ForgetParentsReceiversLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The ready descriptor, made anew if this process forked since it was
  // created (the inherited one is shared with the parent); -1 if none.
  int ReadyFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes a fresh ready descriptor for this process, readable if the
  // channel holds a signal; -1 (errno set) on failure.
  int MakeReadyFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The channel: only its address is used, and only while it is
  // registered.
  const SignalChannel* const channel_;
  const size_t capacity_;
  // Held across fork() while in use, so a child never copies it held by a
  // thread it does not have (a receiver of the parent, say).
  mutable ForkHeldMutex mu_;
  absl::InlinedVector<Delivery, 1> buffer_ ABSL_GUARDED_BY(mu_);
  // buffer_.size(), written under mu_ after each change, read without it by
  // TryReceive: an empty channel answers without taking the lock (an
  // event loop drains each ready channel until TryReceive comes back
  // empty, so half its calls find nothing).
  std::atomic<size_t> buffered_{0};
  // Receivers blocked right now, spinning or parked, and not yet handed a
  // delivery, longest waiting first. While there is one, buffer_ is empty.
  absl::InlinedVector<Waiter*, 1> waiters_ ABSL_GUARDED_BY(mu_);
  // Receivers inside Receive past its first look, handed a delivery or
  // not: what keeps this alive once closed.
  size_t inside_ ABSL_GUARDED_BY(mu_) = 0;
  // The channel was destroyed.
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  platform::ReadinessFd ready_ ABSL_GUARDED_BY(mu_);
  uint64_t ready_fd_generation_ ABSL_GUARDED_BY(mu_) = 0;
  // The ChannelGroup the channel is in, if any (channel_group.h); a closed
  // one (the group was destroyed) counts as none.
  std::shared_ptr<GroupState> group_ ABSL_GUARDED_BY(mu_);
  // The channel's place in group_'s ready list, guarded by group_'s lock.
  GroupLink group_link_;
  // The runtime's fork generation whose threads waiters_ and inside_ count.
  uint64_t receivers_generation_ ABSL_GUARDED_BY(mu_);
};

void ChannelState::ForgetParentsReceiversLocked() {
  const uint64_t generation = runtime::ForkGeneration();
  if (generation == receivers_generation_) return;
  receivers_generation_ = generation;
  waiters_.clear();
  inside_ = 0;
}

void ChannelState::Close() {
  bool last;
  // Dropped once the lock is released (see group_state.h).
  std::shared_ptr<GroupState> group;
  {
    MutexLock lock(&mu_);
    ForgetParentsReceiversLocked();
    closed_ = true;
    absl::InlinedVector<Delivery, 1>().swap(buffer_);
    buffered_.store(0, std::memory_order_release);
    // Blocked receivers stay where they are; nothing is handed to them.
    waiters_.clear();
    ready_.Close();
    if (group_ != nullptr) {
      // Leaves its group: no ready list may name a destroyed channel.
      group_->Leave(&group_link_);
      group = std::move(group_);
    }
    last = inside_ == 0;
  }
  if (last) delete this;
}

void ChannelState::HandLocked(Delivery delivery) {
  Waiter* waiter = waiters_.front();
  waiters_.erase(waiters_.begin());
  waiter->handed = std::move(delivery);
  // Sequentially consistent with the sleeper's announcement and its look
  // at `filled` (QueueSleeper::Sleep): it sees this or is woken here. The
  // waiter is listed, so its sleeper lives; when this runs on the waiter's
  // own thread (it delivered), it is awake and no system call is made.
  waiter->filled.store(true, std::memory_order_seq_cst);
  waiter->sleeper->Wake();
}

bool ChannelState::Deliver(const Delivery& delivery,
                           BeforePublish* before_publish) {
  MutexLock lock(&mu_);
  ForgetParentsReceiversLocked();
  if (!waiters_.empty()) {
    // Handed to the receiver that has waited longest: the buffer is empty
    // while one waits, and only that receiver can take it.
    if (before_publish != nullptr) before_publish->Run();
    HandLocked(delivery);
    delivered.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (buffer_.size() >= capacity_) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    dropped_occurrences.fetch_add(delivery.occurrences,
                                  std::memory_order_relaxed);
    return false;
  }
  // Taken: no receiver can see it before the lock is released.
  if (before_publish != nullptr) before_publish->Run();
  buffer_.push_back(delivery);
  buffered_.store(buffer_.size(), std::memory_order_release);
  delivered.fetch_add(1, std::memory_order_relaxed);
  if (buffer_.size() == 1) NowReadyLocked();
  return true;
}

Delivery ChannelState::TakeLocked() {
  Delivery delivery = std::move(buffer_.front());
  buffer_.erase(buffer_.begin());
  buffered_.store(buffer_.size(), std::memory_order_release);
  if (buffer_.empty()) NowEmptyLocked();
  return delivery;
}

void ChannelState::NowReadyLocked() {
  if (ReadyFdLocked() >= 0) ready_.Set();
  if (group_ != nullptr) group_->MarkReady(&group_link_);
}

void ChannelState::NowEmptyLocked() {
  if (ReadyFdLocked() >= 0) ready_.Clear();
  if (group_ != nullptr) {
    // The window in which another member may become ready: this one is
    // empty but still listed, so the group does not write its descriptor
    // for the newcomer, and must not clear it when this one leaves.
    PORTSIG_TEST_HOOK(group_member_drained, 0);
    group_->MarkEmpty(&group_link_);
  }
}

absl::Status ChannelState::JoinGroup(SignalChannel* channel,
                                     const std::shared_ptr<GroupState>& group) {
  // A closed group replaced here is dropped once the lock is released (see
  // group_state.h).
  std::shared_ptr<GroupState> closed;
  MutexLock lock(&mu_);
  if (group_ != nullptr && !group_->closed()) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "ChannelGroup::Add: SignalChannel %p is already in %s", channel,
        group_ == group ? "this group" : "another ChannelGroup"));
  }
  closed = std::move(group_);
  group_ = group;
  group_link_.channel = channel;
  group_->Join(&group_link_, !buffer_.empty());
  return absl::OkStatus();
}

absl::Status ChannelState::LeaveGroup(SignalChannel* channel,
                                      const GroupState* group) {
  // The group itself holds a reference: this is never the last. Still
  // dropped after the lock, as everywhere.
  std::shared_ptr<GroupState> left;
  MutexLock lock(&mu_);
  if (group_.get() != group) {
    return absl::NotFoundError(absl::StrFormat(
        "ChannelGroup::Remove: SignalChannel %p is not in this group",
        channel));
  }
  group_->Leave(&group_link_);
  left = std::move(group_);
  return absl::OkStatus();
}

bool ChannelState::LeaveLocked(Waiter* waiter) {
  if (!waiter->taken && !closed_) {
    if (waiter->handed.has_value()) {
      OfferAgainLocked(*std::move(waiter->handed));
    } else {
      // Not handed anything, so still listed (unless a fork forgot it).
      auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
      if (it != waiters_.end()) waiters_.erase(it);
    }
  }
  // In a forked child only the child's own receivers are counted; one that
  // entered in the parent cannot leave here.
  if (inside_ > 0) --inside_;
  return closed_ && inside_ == 0;
}

void ChannelState::OfferAgainLocked(Delivery delivery) {
  if (!waiters_.empty()) {
    HandLocked(std::move(delivery));
    return;
  }
  if (buffer_.size() < capacity_) {
    // No waiter now means none since it was handed over, when the buffer
    // was empty: whatever the buffer holds came later.
    buffer_.insert(buffer_.begin(), std::move(delivery));
    buffered_.store(buffer_.size(), std::memory_order_release);
    if (buffer_.size() == 1) NowReadyLocked();
    return;
  }
  delivered.fetch_sub(1, std::memory_order_relaxed);
  dropped.fetch_add(1, std::memory_order_relaxed);
  dropped_occurrences.fetch_add(delivery.occurrences,
                                std::memory_order_relaxed);
}

std::optional<Delivery> ChannelState::Receive(
    const platform::Deadline& deadline) {
  // Cancellation may act only where this thread waits (see channel.h).
  ScopedCancellationOff cancellation;
  // Without a dispatcher, Wait looks for signals itself.
  (void)runtime::EnsureDispatcher();
  // Made before the waiter is listed and gone after it left (the waiter's
  // exit runs first): a delivery handed to the waiter wakes it here. Gone
  // last, it delivers what a sender left to this thread (sigqueue.h), the
  // lock released.
  runtime::QueueSleeper sleeper;
  Waiter waiter;
  waiter.sleeper = &sleeper;
  {
    MutexLock lock(&mu_);
    ForgetParentsReceiversLocked();
    if (!buffer_.empty()) return TakeLocked();
    // Listed while spinning too, so an unbuffered channel hands over.
    waiters_.push_back(&waiter);
    ++inside_;
  }
  // No cancellation point between listing and this: it takes the receiver
  // out however the thread leaves, pthread_cancel's unwinding included.
  WaiterExit exit(this, &waiter);
  if (platform::SpinEnabled()) {
    // While it spins, this thread takes signals from the queue itself, for
    // every subscriber: the dispatcher need not wake to hand them on.
    // Registered at the first look, after the spin_started test hook.
    // Cancellation may act while it spins, but not while it delivers.
    std::optional<runtime::QueuePoller> poller;
    // The signals this thread would be interrupted by are blocked while it
    // spins (runtime/spin_mask.h). Made with the poller and gone before it,
    // so what the mask held back is handled while the poller still takes
    // it.
    std::optional<runtime::SpinMask> mask;
    cancellation.Allow();
    [[maybe_unused]] const bool spun_to_a_delivery = platform::SpinUntil(
        [&] {
          if (waiter.filled.load(std::memory_order_acquire)) return true;
          cancellation.Disallow();
          if (!poller.has_value()) {
            poller.emplace();
            mask.emplace();
          }
          mask->Check();
          poller->Poll();
          cancellation.Allow();
          return waiter.filled.load(std::memory_order_acquire);
        },
        deadline);
    cancellation.Disallow();
    PORTSIG_TEST_HOOK(spin_ended, spun_to_a_delivery ? 1 : 0);
  }  // Unregistering may deliver, into this channel too: before the lock.
  return Wait(&waiter, deadline, &cancellation);
}

std::optional<Delivery> ChannelState::Wait(
    Waiter* waiter, const platform::Deadline& deadline,
    ScopedCancellationOff* cancellation) {
  // Each pass sleeps once (returning at once if its deadline is past or
  // something came), so even a deadline already past delivers what is
  // queued before it gives up.
  bool past_deadline = false;
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (closed_) {
        waiter->handed.reset();
        waiter->taken = true;
        break;
      }
      if (waiter->handed.has_value()) {
        waiter->taken = true;
        return *std::move(waiter->handed);
      }
      if (past_deadline) return std::nullopt;
    }
    platform::Deadline until = deadline;
    if (!runtime::DispatcherRunning() && !DispatchedOrDeliveredHere()) {
      // No thread could be made for the dispatcher: what nobody sleeping
      // was woken for waits in the queue; look again every
      // kNoDispatcherPoll, trying to start it each time.
      until = deadline.EarlierOf(kNoDispatcherPoll);
    }
    cancellation->Allow();
    waiter->sleeper->Sleep(
        [waiter] { return waiter->filled.load(std::memory_order_seq_cst); },
        until);
    cancellation->Disallow();
    past_deadline = deadline.Passed();
  }
  // Closed: nothing comes any more, and returning a delivery would send the
  // caller back into the destroyed channel. Waits for the deadline (for
  // ever if infinite), still delivering for others when a sender wakes it.
  while (!deadline.Passed()) {
    cancellation->Allow();
    waiter->sleeper->Sleep([] { return false; }, deadline);
    cancellation->Disallow();
  }
  return std::nullopt;
}

std::optional<Delivery> ChannelState::TryReceive() {
  // With a dispatcher running, nothing here looks at the queue: an empty
  // channel is empty now, as if this call had come before any delivery in
  // progress (which a locked look would also have missed).
  if (runtime::DispatcherRunning() &&
      buffered_.load(std::memory_order_acquire) == 0) {
    return std::nullopt;
  }
  ScopedCancellationOff cancellation;
  (void)DispatchedOrDeliveredHere();
  MutexLock lock(&mu_);
  if (buffer_.empty()) return std::nullopt;
  return TakeLocked();
}

int ChannelState::MakeReadyFdLocked() {
  const int fd = ready_.Open();
  ready_fd_generation_ = runtime::ForkGeneration();
  if (fd >= 0 && !buffer_.empty()) ready_.Set();
  return fd;
}

int ChannelState::ReadyFdLocked() {
  if (ready_.fd() < 0) return -1;
  if (runtime::ForkGeneration() != ready_fd_generation_) {
    // Open closes our copy, which leaves the parent's descriptor alone.
    return MakeReadyFdLocked();
  }
  return ready_.fd();
}

absl::StatusOr<int> ChannelState::ReadyFd() {
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

size_t ChannelState::size() const {
  MutexLock lock(&mu_);
  PORTSIG_TEST_HOOK(inside_fork_held_lock, 1);
  return buffer_.size();
}

}  // namespace os_signal_internal

namespace {

std::optional<Signal> SignalOf(std::optional<Delivery> delivery) {
  if (!delivery.has_value()) return std::nullopt;
  return std::move(delivery->signal);
}

}  // namespace

SignalChannel::SignalChannel(size_t capacity)
    : capacity_(capacity),
      state_(new os_signal_internal::ChannelState(this, capacity)) {}

SignalChannel::~SignalChannel() {
  ScopedCancellationOff cancellation;
  os_signal_internal::HandlerMap::Get().Remove(AsSubscriber());
  state_->Close();
}

absl::Status SignalChannel::JoinGroup(
    const std::shared_ptr<os_signal_internal::GroupState>& group) {
  return state_->JoinGroup(this, group);
}

absl::Status SignalChannel::LeaveGroup(
    const os_signal_internal::GroupState* group) {
  return state_->LeaveGroup(this, group);
}

os_signal_internal::Subscriber* SignalChannel::AsSubscriber() { return state_; }

Delivery SignalChannel::ReceiveDelivery() {
  return *state_->Receive(platform::Deadline::Infinite());
}

std::optional<Delivery> SignalChannel::ReceiveDeliveryFor(
    absl::Duration timeout) {
  // Elapsed time, on the monotonic clock (platform/deadline.h).
  return state_->Receive(platform::Deadline::In(timeout));
}

std::optional<Delivery> SignalChannel::ReceiveDeliveryUntil(
    absl::Time deadline) {
  return state_->Receive(platform::Deadline::At(deadline));
}

std::optional<Delivery> SignalChannel::TryReceiveDelivery() {
  return state_->TryReceive();
}

Signal SignalChannel::Receive() { return ReceiveDelivery().signal; }

std::optional<Signal> SignalChannel::ReceiveFor(absl::Duration timeout) {
  return SignalOf(ReceiveDeliveryFor(timeout));
}

std::optional<Signal> SignalChannel::ReceiveUntil(absl::Time deadline) {
  return SignalOf(ReceiveDeliveryUntil(deadline));
}

std::optional<Signal> SignalChannel::TryReceive() {
  return SignalOf(TryReceiveDelivery());
}

absl::StatusOr<int> SignalChannel::ReadyFd() { return state_->ReadyFd(); }

size_t SignalChannel::size() const { return state_->size(); }

uint64_t SignalChannel::delivered() const { return state_->delivered.load(); }

uint64_t SignalChannel::dropped() const { return state_->dropped.load(); }

uint64_t SignalChannel::dropped_occurrences() const {
  return state_->dropped_occurrences.load();
}

}  // namespace portsig
