#include "runtime/deferred_restore.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "platform/deadline.h"
#include "platform/quiet_thread.h"
#include "platform/test_hooks.h"

namespace portsig {
namespace runtime {

DeferredRestore::DeferredRestore(ForkSafeMutex* mu, RestoreFn restore)
    : mu_(mu), restore_(restore) {}

absl::Status DeferredRestore::SetDelay(absl::Duration delay) {
  if (delay < absl::ZeroDuration() || delay > kMaxRestoreDelay) {
    return absl::InvalidArgumentError(absl::StrCat(
        "restore delay ", absl::FormatDuration(delay), " is outside 0..",
        absl::FormatDuration(kMaxRestoreDelay)));
  }
  delay_ = delay;
  ++schedule_generation_;
  if (in_period_) wake_.SignalAll();
  return absl::OkStatus();
}

bool DeferredRestore::Defer(int signo) {
  if (delay_ == absl::ZeroDuration()) return false;
  if (!thread_running_) {
    if (!platform::StartQuietThread("portsig-restore", [this] {
           Run();
         }).ok()) {
      return false;
    }
    thread_running_ = true;
  }
  // Counted once: a second Defer before the restore must not leave the
  // count above zero after it (the thread would wake every delay for ever).
  if (!lingering_[signo]) {
    lingering_[signo] = true;
    ++lingering_count_;
  }
  // A signal deferred part way through a period gets the whole next one.
  deferred_again_[signo] = in_period_;
  // Only a thread waiting with nothing to do needs waking: one in a period
  // finds the signal when the period ends, and waking it on every Stop would
  // cost the system call this saves.
  if (idle_) wake_.SignalAll();
  return true;
}

void DeferredRestore::RestoreAllInChild() {
  for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
    if (lingering_[signo]) restore_(signo);
    lingering_[signo] = false;
    deferred_again_[signo] = false;
  }
  lingering_count_ = 0;
  // The parent's thread may have been waiting on wake_.
  wake_.ReinitInChild();
  thread_running_ = false;
  idle_ = false;
  in_period_ = false;
}

void DeferredRestore::Run() {
  MutexLock lock(mu_);
  for (;;) {
    if (lingering_count_ == 0) {
      idle_ = true;
      wake_.Wait(mu_);
      idle_ = false;
      continue;
    }
    const uint64_t generation = schedule_generation_;
    // Monotonic: a step of the wall clock neither stretches nor cuts the
    // delay.
    const platform::Deadline deadline = platform::Deadline::In(delay_);
    in_period_ = true;
    while (generation == schedule_generation_ &&
           !wake_.WaitWithDeadline(mu_, deadline)) {
    }
    in_period_ = false;
    if (generation != schedule_generation_) continue;
#ifdef PORTSIG_TEST_HOOKS
    if (test_hooks::hold_deferred_restores.load()) continue;
#endif
    for (int signo = 1; signo <= platform::kMaxSignal; ++signo) {
      if (!lingering_[signo]) continue;
      if (deferred_again_[signo]) {
        deferred_again_[signo] = false;
        continue;
      }
      lingering_[signo] = false;
      --lingering_count_;
      restore_(signo);
    }
  }
}

}  // namespace runtime
}  // namespace portsig
