// Deferred restore: when the last subscriber of a signal leaves, portsig's
// handler stays in place for a short delay before the saved disposition is
// put back.
//
// A program that subscribes around each request (Notify, work, Stop) would
// otherwise pay four sigaction calls per request; within the delay the next
// Notify finds the handler installed and changes nothing (it only reads the
// disposition: a host that installed its own handler over the lingering one
// gets what a restore would have given it, its handler becoming the one the
// new subscription stands in for, signal_handler.h). Only signals for which
// the lingering handler cannot be told apart from the restored disposition
// by what happens to the process are deferred (RestoreCanWait in
// disposition_chain.h): those whose saved disposition is SIG_DFL with a
// default action that ends the process, and never in a PID namespace's
// init, for which the kernel drops such signals (runtime.cc). Meanwhile an
// unwanted signal falls through to that same default action, and exec()
// resets a caught signal to SIG_DFL, which is again what was saved. What
// the delay does show is sigaction() itself: a host that reads the
// disposition sees portsig's handler until the restore runs.
//
// One thread ("portsig-restore"), started by the first Defer, runs the
// restores under the runtime's lock. It wakes once per delay while anything
// lingers, and restores a signal that stayed unwanted for a whole period,
// so between one and two delays after its Stop.
#ifndef PORTSIG_RUNTIME_DEFERRED_RESTORE_H_
#define PORTSIG_RUNTIME_DEFERRED_RESTORE_H_

#include <cstdint>

#include "absl/base/internal/raw_logging.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "platform/signal_names.h"
#include "platform/sync.h"

namespace portsig {
namespace runtime {

// Above this a lingering handler is no longer "shortly after Stop".
inline constexpr absl::Duration kMaxRestoreDelay = absl::Seconds(1);
inline constexpr absl::Duration kDefaultRestoreDelay = absl::Milliseconds(10);

class DeferredRestore {
 public:
  // `restore` puts signo's saved disposition back; it is called with *mu
  // held, as every other caller is.
  using RestoreFn = void (*)(int signo);
  DeferredRestore(ForkSafeMutex* mu, RestoreFn restore);
  DeferredRestore(const DeferredRestore&) = delete;
  DeferredRestore& operator=(const DeferredRestore&) = delete;

  // Leaves signo's handler in place and restores it after the delay.
  // False when the delay is zero or the restoring thread cannot start: the
  // caller restores now.
  bool Defer(int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // signo is wanted again, ignored or reset: no restore will run for it.
  // Returns whether one was due.
  bool Cancel(int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!lingering_[signo]) return false;
    lingering_[signo] = false;
    --lingering_count_;
    return true;
  }
  bool Lingering(int signo) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return lingering_[signo];
  }
  // Zero restores inside Stop from now on. InvalidArgument naming the
  // value, and no change, outside 0..kMaxRestoreDelay. A period under way
  // starts over with the new delay.
  absl::Status SetDelay(absl::Duration delay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration delay() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return delay_;
  }
  // Tells the thread-safety analysis that the caller, holding `held` (the
  // runtime's lock, which this borrows), holds mu_: clang cannot see that
  // the two names are one mutex. Checks that they are.
  void AssertHeld(const ForkSafeMutex* held) const
      ABSL_ASSERT_EXCLUSIVE_LOCK(mu_) {
    ABSL_RAW_CHECK(held == mu_, "DeferredRestore: not the lock it borrows");
  }
  // In a forked child, whose copy of the restoring thread does not exist:
  // restores everything that lingers now.
  void RestoreAllInChild() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  ForkSafeMutex* const mu_;
  const RestoreFn restore_;
  ForkSafeCondVar wake_;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = kDefaultRestoreDelay;
  bool lingering_[platform::kMaxSignal + 1] ABSL_GUARDED_BY(mu_) = {};
  // Deferred again since the restoring thread last looked: its period
  // starts over.
  bool deferred_again_[platform::kMaxSignal + 1] ABSL_GUARDED_BY(mu_) = {};
  int lingering_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool thread_running_ ABSL_GUARDED_BY(mu_) = false;
  // The thread waits with nothing lingering (only a Defer wakes it).
  bool idle_ ABSL_GUARDED_BY(mu_) = false;
  // The thread waits for a period to end.
  bool in_period_ ABSL_GUARDED_BY(mu_) = false;
  // Incremented to make the thread start its wait over.
  uint64_t schedule_generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_DEFERRED_RESTORE_H_
