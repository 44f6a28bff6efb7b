// The threads and processes of a storm. Each runs until `end` (or, the
// flooder child, until told to stop), adds what it did to Figures, and
// reports what it found wrong with ADD_FAILURE as it goes:
//
//   Churn        calls Notify/Stop/Reset/Ignore/Ignored/NotifyContext (and
//                invalid calls, which must return InvalidArgument) on its
//                channels;
//   Flood        sends the stable and churn kinds with kill() and with
//                tgkill() at every thread of the process, portsig's
//                included;
//   FlooderChild the same with kill() from another process (and at the
//                whole process group in fork mode);
//   Read         receives from one stable channel;
//   Probe        Notifies, raises and checks a signal of its own;
//   AtomicStop   Go's TestAtomicStop on a signal of its own (--faults);
//   ForkChildren forks children that Notify, receive and exit (--forks).
#ifndef PORTSIG_TESTS_STRESS_STORM_ACTORS_H_
#define PORTSIG_TESTS_STRESS_STORM_ACTORS_H_

#include <sys/types.h>

#include <atomic>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "platform/sync.h"
#include "tests/stress/storm/channels.h"
#include "tests/stress/storm/config.h"
#include "tests/stress/storm/figures.h"
#include "tests/stress/storm/shared.h"

namespace portsig {
namespace storm {

// Threads of this process that the test started (everything else that
// /proc/self/task lists is portsig's dispatcher, or a sanitizer's).
class KnownThreads {
 public:
  // Adds the calling thread.
  void AddSelf();
  bool Contains(pid_t tid);

 private:
  Mutex mu_;
  std::vector<pid_t> tids_ ABSL_GUARDED_BY(mu_);
};

// `index` picks the thread's random stream.
void Churn(const Config& config, int index, absl::Time end, Figures* f,
           std::vector<ChurnChannel>* channels);
void Flood(const Config& config, int index, absl::Time end, KnownThreads* known,
           Figures* f);
// Forked before portsig starts; sends at `target` (and, with `group`, at
// its process group) from flood_go to flood_stop, then _exits.
[[noreturn]] void FlooderChild(const Config& config, pid_t target, bool group,
                               Shared* shared);
void Read(StableChannel* s, std::atomic<bool>* stop);
void Probe(int index, absl::Time end, Figures* f);
void AtomicStop(const Config& config, int index, absl::Time end, Figures* f);
void ForkChildren(absl::Time end, Figures* f);

}  // namespace storm
}  // namespace portsig

#endif  // PORTSIG_TESTS_STRESS_STORM_ACTORS_H_
