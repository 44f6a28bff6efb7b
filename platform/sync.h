// portsig's locks. ForkSafeMutex, ForkSafeCondVar and ForkHeldMutex (glibc
// pthread) are what the library itself uses: they survive fork() and skip
// the deadlock detection of Debian's debug Abseil. Mutex, CondVar and
// Notification are Abseil's, made visible to ThreadSanitizer, for tests.
//
// portsig links Debian's prebuilt Abseil, which is not compiled with
// -fsanitize=thread, so TSan cannot observe the happens-before edges that
// absl::Mutex creates and reports false races on every guarded field. These
// wrappers forward to Abseil and, only in TSan builds, add acquire/release
// annotations at the same points. Everything else about them is Abseil's:
// same semantics, same thread-safety annotations.
#ifndef PORTSIG_PLATFORM_SYNC_H_
#define PORTSIG_PLATFORM_SYNC_H_

#include <pthread.h>

#include <algorithm>
#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "platform/deadline.h"
#include "platform/sanitizers.h"

#ifdef PORTSIG_TSAN
#include <unistd.h>
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace portsig {
namespace sync_internal {
inline void Acquire(const void* addr) {
#ifdef PORTSIG_TSAN
  __tsan_acquire(const_cast<void*>(addr));
#else
  (void)addr;
#endif
}
// TSan holds an asynchronous signal until the thread that caught it next
// passes through one of its interceptors; a thread parked in Abseil's
// uninstrumented futex waits never does, so the handler would never run.
// In TSan builds, waits are therefore bounded and followed by usleep(0),
// an intercepted call that lets TSan run pending handlers. Elsewhere this
// is never used.
inline constexpr absl::Duration kTsanSignalPoll = absl::Milliseconds(5);
inline void LetTsanRunSignalHandlers() {
#ifdef PORTSIG_TSAN
  usleep(0);
#endif
}

inline void Release(const void* addr) {
#ifdef PORTSIG_TSAN
  __tsan_release(const_cast<void*>(addr));
#else
  (void)addr;
#endif
}
}  // namespace sync_internal

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.Lock();
    sync_internal::Acquire(this);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    sync_internal::Release(this);
    mu_.Unlock();
  }
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }

 private:
  friend class CondVar;
  absl::Mutex mu_;
};

// A lock held across fork(): taken in a pthread_atfork prepare handler and
// released in the parent and the child. absl::Mutex cannot be released in
// the child: threads of the parent queued on it are still listed there but
// do not exist, and Unlock hands the lock to one of them, so the next
// contended Lock never returns; a debug build of Abseil (Debian's) also
// takes a process-wide spin lock on every Lock, which another thread may
// have held when fork() copied it. glibc's pthread mutex only clears its
// lock word and wakes a waiter, which in the child wakes nobody. TSan
// intercepts it, so it needs no annotations. ForkSafeCondVar waits on it.
class ABSL_LOCKABLE ForkSafeMutex {
 public:
  ForkSafeMutex() = default;
  ForkSafeMutex(const ForkSafeMutex&) = delete;
  ForkSafeMutex& operator=(const ForkSafeMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { pthread_mutex_lock(&mu_); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { pthread_mutex_unlock(&mu_); }

 private:
  friend class ForkSafeCondVar;
  pthread_mutex_t mu_ = PTHREAD_MUTEX_INITIALIZER;
};

class ForkHeldMutex;

// The condition variable for ForkSafeMutex: glibc's pthread_cond_t, with
// deadlines on CLOCK_MONOTONIC (platform/deadline.h), which no step of the
// wall clock moves. It replaces absl::CondVar, which needs
// absl::Mutex: Debian's debug build of that records lock order for deadlock
// detection on every Lock (74% of fan-out's cost per channel, see
// BENCHMARKS.md) under a process-wide spin lock that fork() may copy held.
// Waits may end spuriously, so callers loop on their condition.
class ForkSafeCondVar {
 public:
  ForkSafeCondVar();
  ~ForkSafeCondVar();
  ForkSafeCondVar(const ForkSafeCondVar&) = delete;
  ForkSafeCondVar& operator=(const ForkSafeCondVar&) = delete;

  // Atomically releases *mu and waits; *mu is held again on return.
  void Wait(ForkSafeMutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void Wait(ForkHeldMutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // As Wait, but gives up at `deadline`; true if it has passed.
  bool WaitWithDeadline(ForkSafeMutex* mu, const platform::Deadline& deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool WaitWithDeadline(ForkHeldMutex* mu, const platform::Deadline& deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void SignalAll();
  // In a forked child, for a condition variable a parent thread was waiting
  // on: the copy still counts that waiter, who does not exist here, and
  // glibc's broadcast waits for the waiters it counts to leave, so the
  // child's second SignalAll would never return. Only when no thread of the
  // child can be using it.
  void ReinitInChild();

 private:
  pthread_cond_t cv_;
};

// A ForkSafeMutex that fork() finds free: one per channel, context and
// channel group. A host thread may be inside a channel call (TryReceive,
// size, a receiver between waits) at the moment another thread forks; the
// child has no such thread, so its copy of that lock would stay held for
// ever and the child's dispatcher, or its own first call on the channel,
// would hang. So the runtime's fork handlers (PrepareFork, ParentAfterFork,
// ChildAfterFork) close a gate that new users wait at, take every such lock
// that a thread is using (holding it, waiting for it, or waiting in a
// condition variable with it), fork, and release them: the child never
// sees a channel's state half changed either. Each thread lists the locks
// it uses in a record of its own, so fork looks at a few records per
// thread and never at idle locks: ten thousand channels cost it nothing
// (taking every lock made each fork ~30 ms longer, mostly in copying the
// pages the parent's unlocking wrote to).
//
// Listed locks are taken after the handler map's lock and before the
// runtime's, and never two at a time but for one pair: a channel's lock
// (kOuter), then its ChannelGroup's (kInner), which fork takes after every
// outer one. A thread that already uses one never waits at the gate (fork
// waits for it instead). Lock is no cancellation point, as
// pthread_mutex_lock is not: the wait at the gate holds cancellation off.
// Destroy one that no thread uses.
class ABSL_LOCKABLE ForkHeldMutex {
 public:
  // kInner: a lock taken while a listed kOuter one is held (and never the
  // other way round), or alone.
  enum class Order { kOuter, kInner };
  explicit ForkHeldMutex(Order order = Order::kOuter) : order_(order) {}
  ~ForkHeldMutex();
  ForkHeldMutex(const ForkHeldMutex&) = delete;
  ForkHeldMutex& operator=(const ForkHeldMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION();
  void Unlock() ABSL_UNLOCK_FUNCTION();

  // For the runtime's pthread_atfork handlers only.
  static void PrepareFork();
  static void ParentAfterFork();
  static void ChildAfterFork();

 private:
  friend class ForkSafeCondVar;
  // Releases what PrepareFork took.
  static void ReleaseAfterFork();

  ForkSafeMutex mu_;
  const Order order_;
  // PrepareFork holds mu_. Only the forking thread touches it.
  bool held_for_fork_ = false;
};

// Holds off deferred thread cancellation (pthread_cancel) for a scope and
// gives the caller's own state back at its end. A portsig call that waits
// lets a cancellation act only while it waits (Allow ... Disallow), where
// unwinding leaves nothing half done. Anywhere else a cancellation point
// (a write(2) that wakes a thread, a poll(2)) could unwind the thread
// through SigQueue::Drain, which is noexcept (std::terminate), or out of
// a delivery half made. Where the caller had cancellation disabled, Allow
// leaves it disabled.
class ScopedCancellationOff {
 public:
  ScopedCancellationOff() {
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &callers_);
  }
  ~ScopedCancellationOff() { Allow(); }
  ScopedCancellationOff(const ScopedCancellationOff&) = delete;
  ScopedCancellationOff& operator=(const ScopedCancellationOff&) = delete;

  void Allow() {
    int unused;
    pthread_setcancelstate(callers_, &unused);
  }
  void Disallow() {
    int unused;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &unused);
  }

 private:
  int callers_ = PTHREAD_CANCEL_ENABLE;
};

// ScopedCancellationOff that costs nothing until it is needed: deferred
// cancellation acts only at cancellation points, so a call promised not
// to be one need hold it off only from the first step that can reach one.
// HoldOff() holds it off from there to the end of the scope (the first
// call; later ones cost a branch); a scope that never called it leaves
// the thread's state alone, and a cancellation pending then acts at the
// caller's next cancellation point after the call, as promised. The
// caller must call HoldOff() before every step that may reach a
// cancellation point (a wait, a write(2) that wakes a thread, making a
// thread, reading /proc). Asynchronous cancellation is not supported
// (RELIABILITY.md): it can act anywhere, before the first HoldOff() too.
class LazyCancellationOff {
 public:
  LazyCancellationOff() = default;
  ~LazyCancellationOff() {
    if (!held_) return;
    int unused;
    pthread_setcancelstate(callers_, &unused);
  }
  LazyCancellationOff(const LazyCancellationOff&) = delete;
  LazyCancellationOff& operator=(const LazyCancellationOff&) = delete;

  void HoldOff() {
    if (held_) return;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &callers_);
    held_ = true;
  }
  bool held() const { return held_; }

 private:
  bool held_ = false;
  int callers_ = PTHREAD_CANCEL_ENABLE;
};

// Holds a Mutex, ForkSafeMutex or ForkHeldMutex for a scope:
// MutexLock lock(&mu_);
template <typename M>
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(M* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  M* const mu_;
};

class CondVar {
 public:
  // Atomically releases *mu and waits; *mu is held again on return.
  // May wake spuriously, as absl::CondVar::Wait may.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    sync_internal::Release(mu);
#ifdef PORTSIG_TSAN
    cv_.WaitWithTimeout(&mu->mu_, sync_internal::kTsanSignalPoll);
#else
    cv_.Wait(&mu->mu_);
#endif
    sync_internal::Acquire(mu);
    sync_internal::LetTsanRunSignalHandlers();
  }
  // As Wait, but gives up after `timeout`; true if it timed out.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    sync_internal::Release(mu);
    bool timed_out = cv_.WaitWithTimeout(&mu->mu_, timeout);
    sync_internal::Acquire(mu);
    return timed_out;
  }
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    sync_internal::Release(mu);
#ifdef PORTSIG_TSAN
    absl::Time bounded =
        std::min(deadline, absl::Now() + sync_internal::kTsanSignalPoll);
    bool timed_out =
        cv_.WaitWithDeadline(&mu->mu_, bounded) && absl::Now() >= deadline;
#else
    bool timed_out = cv_.WaitWithDeadline(&mu->mu_, deadline);
#endif
    sync_internal::Acquire(mu);
    sync_internal::LetTsanRunSignalHandlers();
    return timed_out;
  }
  void Signal() { cv_.Signal(); }
  void SignalAll() { cv_.SignalAll(); }

 private:
  absl::CondVar cv_;
};

// absl::Notification, visible to TSan.
class Notification {
 public:
  void Notify() {
    sync_internal::Release(this);
    n_.Notify();
  }
  bool HasBeenNotified() const {
    bool notified = n_.HasBeenNotified();
    if (notified) sync_internal::Acquire(this);
    return notified;
  }
  void WaitForNotification() const {
    n_.WaitForNotification();
    sync_internal::Acquire(this);
  }
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const {
    bool notified = n_.WaitForNotificationWithTimeout(timeout);
    if (notified) sync_internal::Acquire(this);
    return notified;
  }

 private:
  absl::Notification n_;
};

}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SYNC_H_
