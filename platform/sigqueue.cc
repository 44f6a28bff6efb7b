#include "platform/sigqueue.h"

#include <pthread.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "platform/test_hooks.h"
#include "platform/wakeup.h"

#ifndef PORTSIG_DEFAULT_SIGQUEUE
#define PORTSIG_DEFAULT_SIGQUEUE "posix"
#endif

namespace portsig {
namespace platform {

SigQueue::DeliveryScope::DeliveryScope(SigQueue* queue, int slot)
    : queue_(queue) {
  // The increment must be visible before `wanted_` is read, and Disable's
  // clear before WaitUntilIdle reads the counter: both sides are seq_cst.
  queue_->delivering_.fetch_add(1, std::memory_order_seq_cst);
  wanted_ = queue_->wanted_.Contains(slot);
  if (wanted_) PORTSIG_TEST_HOOK(after_wanted_check, slot);
}

SigQueue::DeliveryScope::~DeliveryScope() {
  queue_->delivering_.fetch_sub(1, std::memory_order_seq_cst);
}

SigQueue::~SigQueue() {
  for (auto& ring : rings_) delete ring.load(std::memory_order_relaxed);
}

SendResult SigQueue::Send(int signo, const SignalRecord& record) {
  if (signo < 1 || signo > kMaxSignal) return SendResult::kNotWanted;
  DeliveryScope scope(this, signo);
  if (!scope.wanted()) return SendResult::kNotWanted;
  SendResult result;
  RecordRing* ring = rings_[signo].load(std::memory_order_acquire);
  if (ring != nullptr && ring->capacity() > 0) {
    // Queue mode: the record goes in the ring (or its overflow summary);
    // the backend only has to wake the receiver for it.
    const bool kept = ring->Push(record);
    result = Enqueue(signo, nullptr);
    if (!kept) {
      CountOverflow();
      if (result == SendResult::kQueued) result = SendResult::kCoalesced;
    }
    return result;
  }
  result = Enqueue(signo, &record);
  if (result == SendResult::kOverflow || result == SendResult::kCoalesced) {
    CountOverflow();
  }
  return result;
}

bool SigQueue::TryReceiveLocked(QueuedSignal* out) {
  for (;;) {
    if (draining_ != 0) {
      RecordRing* ring = rings_[draining_].load(std::memory_order_acquire);
      if (uint64_t n = ring->Pop(&out->record, drain_limit_); n > 0) {
        out->signo = draining_;
        out->occurrences = n;
        out->note_length = 0;
        out->note[0] = '\0';
        return true;
      }
      draining_ = 0;
      // Occurrences that reached the backend while queue mode was off.
      if (drained_after_.occurrences > 0) {
        *out = drained_after_;
        drained_after_.occurrences = 0;
        return true;
      }
    }
    if (!TryReceiveRaw(out)) return false;
    if (out->signo != 0 &&
        rings_[out->signo].load(std::memory_order_acquire) != nullptr) {
      draining_ = out->signo;
      // Only what is queued now: a flood on this signal must not keep the
      // receiver from the others. Later records bring their own wake-up.
      drain_limit_ =
          rings_[draining_].load(std::memory_order_acquire)->WritePosition();
      drained_after_ = *out;
      continue;
    }
    // Zero: an earlier delivery already reported what this one stands for.
    if (out->signo == 0 || out->occurrences > 0) return true;
  }
}

bool SigQueue::TryLockRole() {
  return !role_held_.load(std::memory_order_relaxed) &&
         !role_held_.exchange(true, std::memory_order_acquire);
}

void SigQueue::LockRole() {
  while (!TryLockRole()) YieldProcessor();
}

void SigQueue::UnlockRole() {
  role_held_.store(false, std::memory_order_release);
}

// Holds the receive role for a scope. Thread cancellation is off meanwhile:
// `deliver` may reach a cancellation point (a channel's eventfd write), and
// a thread cancelled there would leave signals taken but not delivered.
class SigQueue::RoleScope {
 public:
  explicit RoleScope(SigQueue* queue) : queue_(queue) {
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state_);
  }
  ~RoleScope() {
    if (held_) queue_->UnlockRole();
    pthread_setcancelstate(cancel_state_, nullptr);
  }
  RoleScope(const RoleScope&) = delete;
  RoleScope& operator=(const RoleScope&) = delete;

  bool Take(bool wait) {
    if (wait) {
      queue_->LockRole();
      held_ = true;
    } else {
      held_ = queue_->TryLockRole();
    }
    return held_;
  }

 private:
  SigQueue* const queue_;
  int cancel_state_ = 0;
  bool held_ = false;
};

bool SigQueue::Drain(DeliverFn deliver, bool wait) noexcept {
  RoleScope role(this);
  if (!role.Take(wait)) return false;
  BeginDrain();
  QueuedSignal received;
  while (TryReceiveLocked(&received)) deliver(received);
  return true;
}

void SigQueue::Receive(QueuedSignal* out) {
  for (;;) {
    bool got;
    {
      RoleScope role(this);
      role.Take(/*wait=*/true);
      BeginDrain();
      got = TryReceiveLocked(out);
    }
    if (got) return;
    AwaitSenders();
  }
}

void SigQueue::BeginPoll() {
  if (pollers_.fetch_add(1, std::memory_order_seq_cst) == 0) {
    FirstPollerRegistered();
  }
}

void SigQueue::Poll(DeliverFn deliver) {
  if (MayHavePending()) Drain(deliver, /*wait=*/false);
}

void SigQueue::EndPoll(DeliverFn deliver) {
  // A sender that read pollers() before this decrement set its bit before
  // the read below (both sequentially consistent), so the bit is seen here
  // unless a role holder already took it.
  pollers_.fetch_sub(1, std::memory_order_seq_cst);
  if (MayHavePending()) Drain(deliver, /*wait=*/true);
}

void SigQueue::SetQueueCapacity(int signo, uint32_t capacity) {
  if (signo < 1 || signo > kMaxSignal) return;
  if (capacity > kMaxQueueCapacity) capacity = kMaxQueueCapacity;
  RecordRing* ring = rings_[signo].load(std::memory_order_acquire);
  if (ring == nullptr) {
    if (capacity == 0) return;
    ring = new RecordRing();
    rings_[signo].store(ring, std::memory_order_release);
  }
  ring->set_capacity(capacity);
}

uint32_t SigQueue::QueueCapacity(int signo) const {
  if (signo < 1 || signo > kMaxSignal) return 0;
  RecordRing* ring = rings_[signo].load(std::memory_order_acquire);
  return ring == nullptr ? 0 : ring->capacity();
}

void SigQueue::Enable(int slot) {
  ignored_.Remove(slot);
  wanted_.Add(slot);
}

void SigQueue::Disable(int slot) { wanted_.Remove(slot); }

void SigQueue::Ignore(int slot) {
  wanted_.Remove(slot);
  ignored_.Add(slot);
}

void SigQueue::Unignore(int slot) { ignored_.Remove(slot); }

bool SigQueue::Wanted(int slot) const { return wanted_.Contains(slot); }

bool SigQueue::Ignored(int slot) const { return ignored_.Contains(slot); }

void SigQueue::WaitUntilIdle(DeliverFn deliver) {
  // A sender may have read `wanted` before the caller's Disable and still be
  // queuing; wait for every such sender to finish its hand-off first.
  while (delivering_.load(std::memory_order_seq_cst) != 0) YieldProcessor();
  // Then deliver what they queued. Their writes are visible now (the
  // counter's read synchronizes with their decrements), so an empty queue
  // is really empty, and taking the role waits out a receiver that took
  // something and is still delivering it. Skipping the empty drain spares
  // the note backend's two signal-mask calls on every Stop.
  if (MayHavePending()) {
    Drain(deliver, /*wait=*/true);
  } else {
    RoleScope role(this);
    role.Take(/*wait=*/true);
  }
}

void SigQueue::ResetAfterFork() {
  delivering_.store(0, std::memory_order_relaxed);
  for (auto& ring : rings_) {
    if (RecordRing* r = ring.load(std::memory_order_relaxed)) r->Reset();
  }
  // The parent's role holder and pollers are not in this process.
  role_held_.store(false, std::memory_order_relaxed);
  pollers_.store(0, std::memory_order_relaxed);
  draining_ = 0;
  drained_after_.occurrences = 0;
}

absl::string_view DefaultSigQueueName() { return PORTSIG_DEFAULT_SIGQUEUE; }

absl::StatusOr<std::unique_ptr<SigQueue>> NewSigQueue(absl::string_view name) {
  if (name == "posix") return NewPosixSigQueue();
  if (name == "note") return NewNoteSigQueue();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown signal queue backend \"", name, "\" (want posix or note)"));
}

}  // namespace platform
}  // namespace portsig
