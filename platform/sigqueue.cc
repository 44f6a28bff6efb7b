// SigQueue's sender side and bookkeeping: Send (with queue mode's ring),
// the wanted/ignored sets and the count of senders between their `wanted`
// check and their hand-off that WaitUntilIdle waits for, the queue-mode
// capacities, the fork reset and the factories. The receive role, drains,
// pollers, sleeping receivers and WaitUntilIdle itself are in
// sigqueue_receive.cc; the promises are sigqueue.h's.
#include "platform/sigqueue.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "platform/test_hooks.h"

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

void SigQueue::ResetAfterFork() {
  delivering_.store(0, std::memory_order_relaxed);
  for (auto& ring : rings_) {
    if (RecordRing* r = ring.load(std::memory_order_relaxed)) r->Reset();
  }
  // The parent's role holder and pollers are not in this process.
  role_held_.store(false, std::memory_order_relaxed);
  pollers_.store(0, std::memory_order_relaxed);
  // Nor its sleeping receivers: a sender must not hand a signal to one.
  sleepers_.ResetAfterFork();
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
