#include "runtime/mask_thread.h"

#include <pthread.h>
#include <signal.h>

#include "platform/fatal.h"
#include "platform/quiet_thread.h"
#include "platform/signal_names.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace runtime {
namespace {

template <typename Set>
sigset_t ToSigset(const Set& signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
    if (signals.test(signo)) sigaddset(&set, signo);
  }
  return set;
}

}  // namespace

MaskThread::MaskThread() = default;

absl::Status MaskThread::Open(int signo) {
  SignalSet signals;
  signals.set(signo);
  return Open(signals);
}

MaskThread::SignalSet MaskThread::WithoutFaults(const SignalSet& signals) {
  SignalSet wanted = signals;
  wanted.reset(0);
  // Open on every portsig thread already. Six resets, not a walk of every
  // signal: Notify comes here each time it names a signal nobody names
  // (BENCHMARKS.md, churn).
  for (int signo : platform::kSynchronousSignals) wanted.reset(signo);
  return wanted;
}

absl::Status MaskThread::Open(const SignalSet& signals) {
  const SignalSet wanted = WithoutFaults(signals);
  if (wanted.none()) return absl::OkStatus();
  MutexLock lock(&mu_);
  if ((wanted & ~open_).none() && running_) return absl::OkStatus();
  const SignalSet was_open = open_;
  open_ |= wanted;
  absl::Status applied = ApplyLocked();
  if (!applied.ok()) {
    // No thread: nothing is open, so putting the set back is all there is
    // to undo.
    open_ = was_open;
    UpdateNeedsStartLocked();
  }
  PublishOpenLocked();
  return applied;
}

bool MaskThread::AllOpen(const SignalSet& signals) const {
  const uint64_t wanted = ToBits(WithoutFaults(signals));
  if (wanted == 0) return true;
  // Open in open_ but with no thread (a forked child): Open starts one.
  return (wanted & ~open_bits_.load(std::memory_order_acquire)) == 0 &&
         !NeedsStart();
}

void MaskThread::PublishOpenLocked() {
  open_bits_.store(ToBits(open_), std::memory_order_release);
}

void MaskThread::Close(int signo) {
  MutexLock lock(&mu_);
  if (!open_.test(signo)) return;
  open_.reset(signo);
  PublishOpenLocked();
  // Blocking needs no thread: without one, nothing is open.
  if (running_) {
    (void)ApplyLocked();
  } else {
    UpdateNeedsStartLocked();
  }
}

absl::Status MaskThread::EnsureRunning() {
  if (!NeedsStart()) return absl::OkStatus();
  MutexLock lock(&mu_);
  if (running_ || open_.none()) return absl::OkStatus();
  return ApplyLocked();
}

absl::Status MaskThread::ApplyLocked() {
  PORTSIG_TEST_HOOK(mask_change_requested, 0);
  const uint64_t generation = ++requested_;
  if (running_) {
    changed_.SignalAll();
  } else {
    // Made with the mask it must have. glibc's pthread_create keeps every
    // signal blocked on a new thread until the thread first runs, so the
    // mask is in force only once Run has begun, which it reports.
    absl::Status started = platform::StartQuietThread(
        kName, [this, generation] { Run(generation); }, ToSigset(open_));
    if (!started.ok()) {
      // Nothing runs with this generation's mask; the next start makes it.
      applied_ = requested_;
      UpdateNeedsStartLocked();
      return started;
    }
    running_ = true;
    UpdateNeedsStartLocked();
  }
  while (applied_ < generation) applied_cv_.Wait(&mu_);
  return absl::OkStatus();
}

void MaskThread::Run(uint64_t started_with) {
  // Never returns: the thread lives as long as the process.
  mu_.Lock();
  if (started_with > applied_) applied_ = started_with;
  applied_cv_.SignalAll();
  for (;;) {
    while (applied_ == requested_) changed_.Wait(&mu_);
    const uint64_t generation = requested_;
    const sigset_t mask = platform::QuietMask(ToSigset(open_));
    // Unlocked while the mask changes: a signal pending for the process
    // that the new mask opens runs portsig's handler on this thread right
    // away, and whatever that handler falls through to (a host's handler)
    // should not run holding portsig's lock.
    mu_.Unlock();
    // Fails only for an invalid `how`: never with SIG_SETMASK.
    if (int error = pthread_sigmask(SIG_SETMASK, &mask, nullptr)) {
      platform::Fatal("mask thread: cannot set its signal mask", 0, error);
    }
    mu_.Lock();
    if (generation > applied_) applied_ = generation;
    applied_cv_.SignalAll();
  }
}

void MaskThread::UpdateNeedsStartLocked() {
  needs_start_.store(!running_ && open_.any(), std::memory_order_release);
}

void MaskThread::PrepareFork() { mu_.Lock(); }

void MaskThread::ParentAfterFork() { mu_.Unlock(); }

void MaskThread::ChildAfterFork() {
  // The parent's thread does not exist here; it may have been waiting on
  // changed_, which glibc's copy still counts (platform/sync.h).
  running_ = false;
  applied_ = requested_;
  changed_.ReinitInChild();
  applied_cv_.ReinitInChild();
  UpdateNeedsStartLocked();
  mu_.Unlock();
}

}  // namespace runtime
}  // namespace portsig
