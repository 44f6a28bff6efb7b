// Reaper: collects the state changes of the relay's children without
// blocking.
//
// In reap-all mode (the relay is PID 1, or a subreaper) it waits for any
// child, so every orphan the kernel hands the relay is reaped when it ends
// and no zombie stays; only the direct child's changes are returned. Else it
// waits for the direct child alone, leaving any other child of the process
// to whoever else waits for it.
//
// Stops are reported too (WUNTRACED), so a command that stopped is never
// mistaken for one that is still working (see job_control.h). The kernel
// reports a stop only while the child is still stopped, and once.
#ifndef PORTSIG_TOOLS_REAPER_H_
#define PORTSIG_TOOLS_REAPER_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace portsig {
namespace sigwatch {

class Reaper {
 public:
  Reaper(pid_t child, bool reap_all) : child_(child), reap_all_(reap_all) {}

  struct Event {
    // kStopped: the direct child stopped (WSTOPSIG(status) says by what).
    // kLost: the direct child cannot be waited for (ECHILD: someone else
    // reaped it); nothing more will be reported about it.
    enum Kind { kExited, kStopped, kLost } kind;
    // The raw wait status (0 for kLost).
    int status;
  };

  // Every change ready now, in order; the direct child's events only. Once
  // the direct child has exited, later calls only reap orphans.
  std::vector<Event> Poll();

  // The direct child's wait status once it has exited.
  std::optional<int> exit_status() const { return exit_status_; }
  bool lost() const { return lost_; }
  // Children other than the direct one reaped so far.
  uint64_t others_reaped() const { return others_reaped_; }

 private:
  const pid_t child_;
  const bool reap_all_;
  std::optional<int> exit_status_;
  bool lost_ = false;
  uint64_t others_reaped_ = 0;
};

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_REAPER_H_
