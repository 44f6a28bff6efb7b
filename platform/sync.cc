#include "platform/sync.h"

#include <time.h>

namespace portsig {

ForkSafeCondVar::ForkSafeCondVar() { ReinitInChild(); }

ForkSafeCondVar::~ForkSafeCondVar() { pthread_cond_destroy(&cv_); }

// Also the constructor's initialization. Not pthread_cond_destroy first: it,
// too, waits for the counted waiters.
void ForkSafeCondVar::ReinitInChild() {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cv_, &attr);
  pthread_condattr_destroy(&attr);
}

void ForkSafeCondVar::Wait(ForkSafeMutex* mu) {
  pthread_cond_wait(&cv_, &mu->mu_);
}

bool ForkSafeCondVar::WaitWithDeadline(ForkSafeMutex* mu, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    Wait(mu);
    return false;
  }
  // The deadline is wall-clock time; wait on the monotonic clock for the
  // time left, so a clock step cannot stretch or cut the wait.
  const absl::Duration left =
      std::max(deadline - absl::Now(), absl::ZeroDuration());
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const struct timespec until =
      absl::ToTimespec(absl::DurationFromTimespec(now) + left);
  pthread_cond_timedwait(&cv_, &mu->mu_, &until);
  return absl::Now() >= deadline;
}

void ForkSafeCondVar::SignalAll() { pthread_cond_broadcast(&cv_); }

namespace {

// Every ForkHeldLock alive, newest first. Never destroyed: channels may be
// destroyed during exit, after static destructors have run.
struct ForkHeldList {
  ForkSafeMutex mu;
  ForkHeldLock* head ABSL_GUARDED_BY(mu) = nullptr;
};

ForkHeldList& TheForkHeldList() {
  static ForkHeldList* list = new ForkHeldList;
  return *list;
}

}  // namespace

ForkHeldLock::ForkHeldLock(ForkSafeMutex* mu, Order order)
    : mu_(mu), order_(order) {
  ForkHeldList& list = TheForkHeldList();
  MutexLock lock(&list.mu);
  next_ = list.head;
  if (next_ != nullptr) next_->prev_ = this;
  list.head = this;
}

ForkHeldLock::~ForkHeldLock() {
  ForkHeldList& list = TheForkHeldList();
  MutexLock lock(&list.mu);
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    list.head = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
}

// The locks are taken here and released in another function (around
// fork()), which the thread-safety analysis cannot follow.
void ForkHeldLock::LockAllForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldList& list = TheForkHeldList();
  list.mu.Lock();
  // The inner ones last, as every other path takes them: a thread holding
  // an outer lock may be waiting for an inner one, never the reverse.
  for (Order order : {Order::kOuter, Order::kInner}) {
    for (ForkHeldLock* l = list.head; l != nullptr; l = l->next_) {
      if (l->order_ == order) l->mu_->Lock();
    }
  }
}

void ForkHeldLock::UnlockAllAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  ForkHeldList& list = TheForkHeldList();
  for (ForkHeldLock* l = list.head; l != nullptr; l = l->next_) {
    l->mu_->Unlock();
  }
  list.mu.Unlock();
}

}  // namespace portsig
