// SigQueue's receive side: the receive role (one thread at a time takes
// signals out, whichever it is), a drain and queue mode's part of it (each
// occurrence of a queued signal returned with its own record), pollers,
// and receivers that sleep on the queue itself. The sender side, the
// wanted/ignored sets and WaitUntilIdle's counting are in sigqueue.cc;
// the promises are sigqueue.h's.
#include <pthread.h>

#include "platform/sigqueue.h"
#include "platform/test_hooks.h"
#include "platform/wakeup.h"

namespace portsig {
namespace platform {

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
  while (!TryLockRole()) {
    PORTSIG_TEST_HOOK(role_busy, 0);
    YieldProcessor();
  }
}

void SigQueue::UnlockRole() {
  role_held_.store(false, std::memory_order_release);
}

// Holds the receive role for a scope. Thread cancellation is off meanwhile:
// `deliver` may reach a cancellation point (a ReadyFd's write), and a
// thread cancelled there would leave signals taken but not delivered.
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

ReceiverSlot* SigQueue::BeginSleep() { return sleepers_.Claim(); }

bool SigQueue::Sleep(ReceiverSlot* slot, DeliverFn deliver,
                     absl::FunctionRef<bool()> done, const Deadline& deadline) {
  // Announced before the looks: a sender that queues after them finds this
  // thread asleep (all sequentially consistent), and one that queued before
  // is seen here.
  slot->Announce();
  if (!done() && !MayHavePending()) {
    PORTSIG_TEST_HOOK(receiver_before_sleep, 0);
    slot->Sleep(deadline);
    PORTSIG_TEST_HOOK(receiver_woke, 0);
  }
  const bool woken = slot->Withdraw();
  // Woken by a sender: it told nobody else, so take the role even if
  // another thread holds it now (that thread may have taken its bits
  // before this signal's). Not woken: the sender woke the dispatcher or
  // another sleeper; deliver here only if the role is free.
  if (MayHavePending()) Drain(deliver, /*wait=*/woken);
  return woken;
}

void SigQueue::EndSleep(ReceiverSlot* slot, DeliverFn deliver) {
  PORTSIG_TEST_HOOK(receiver_leaving, 0);
  const bool woken = slot->Withdraw();
  sleepers_.Release(slot);
  if (MayHavePending()) Drain(deliver, /*wait=*/woken);
}

bool SigQueue::WakeSleepingReceiver(int slot) {
  if (!sleepers_.WakeOne()) return false;
  PORTSIG_TEST_HOOK(receiver_picked, slot);
  return true;
}

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

bool SigQueue::Idle() const {
  // The order matters, as in WaitUntilIdle. Once no sender is counted, an
  // empty queue is really empty (the counter's read synchronizes with their
  // decrements, which follow their writes). A signal leaves the queue only
  // to a thread holding the role (a sleeping receiver woken by a sender
  // included), which keeps it until its delivery has returned; and the
  // take that empties the queue is a release (the posix backend's
  // exchange of a word, the note backend's store of its count), so a look
  // that finds the queue empty also sees that role taken, or given back
  // after the delivery.
  return delivering_.load(std::memory_order_seq_cst) == 0 &&
         !MayHavePending() && !role_held_.load(std::memory_order_seq_cst);
}

}  // namespace platform
}  // namespace portsig
