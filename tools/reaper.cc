#include "tools/reaper.h"

#include <sys/wait.h>

#include <cerrno>

namespace portsig {
namespace sigwatch {

std::vector<Reaper::Event> Reaper::Poll() {
  std::vector<Event> events;
  for (;;) {
    const bool child_done = exit_status_.has_value() || lost_;
    if (!reap_all_ && child_done) break;
    const pid_t target = reap_all_ ? -1 : child_;
    int status = 0;
    pid_t pid = waitpid(target, &status, WNOHANG | WUNTRACED);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0 && !child_done) {
      lost_ = true;
      events.push_back({Event::kLost, 0});
    }
    // 0: nothing ready; ECHILD: nothing left to wait for.
    if (pid <= 0) break;
    if (pid != child_) {
      if (WIFEXITED(status) || WIFSIGNALED(status)) ++others_reaped_;
      continue;
    }
    if (WIFSTOPPED(status)) {
      events.push_back({Event::kStopped, status});
      continue;
    }
    exit_status_ = status;
    events.push_back({Event::kExited, status});
  }
  return events;
}

}  // namespace sigwatch
}  // namespace portsig
