// The state of another process as /proc/<pid>/stat shows it, and a bounded
// wait for it to change: for tests that check that a process stopped ('T')
// or runs again.
#ifndef PORTSIG_TESTS_TOOLS_PROCESS_STATE_H_
#define PORTSIG_TESTS_TOOLS_PROCESS_STATE_H_

#include <sys/types.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace portsig {
namespace testing {

// 'R', 'S', 'T' (stopped), 'Z', ...; '\0' when there is no such process.
inline char ProcessState(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
  // The name in parentheses may hold spaces; the state follows its end.
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= stat.size()) {
    return '\0';
  }
  return stat[close_paren + 2];
}

// Waits up to `timeout` until `pid` is stopped (`stopped` true) or not
// stopped (false: running, sleeping, or gone); true if it got there.
inline bool AwaitStopped(pid_t pid, bool stopped, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if ((ProcessState(pid) == 'T') == stopped) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TOOLS_PROCESS_STATE_H_
