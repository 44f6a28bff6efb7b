#include "platform/sigqueue.h"

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

SendResult SigQueue::Send(int signo) {
  if (signo < 1 || signo > kMaxSignal) return SendResult::kNotWanted;
  DeliveryScope scope(this, signo);
  if (!scope.wanted()) return SendResult::kNotWanted;
  SendResult result = Enqueue(signo);
  if (result == SendResult::kOverflow) CountOverflow();
  return result;
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

void SigQueue::WaitUntilIdle() {
  // A sender may have read `wanted` before the caller's Disable and still be
  // queuing; wait for every such sender to finish its hand-off first.
  while (delivering_.load(std::memory_order_seq_cst) != 0) YieldProcessor();
  // Then wait for the receiver to drain what they queued and come back.
  while (!ReceiverIdle()) YieldProcessor();
}

void SigQueue::ResetAfterFork() {
  delivering_.store(0, std::memory_order_relaxed);
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
