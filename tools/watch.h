// Watch mode of sigwatch: report every delivery of the watched signals until
// one of the exit conditions holds, then print the summary.
//
// Exit conditions: `count` deliveries (when count > 0), `timeout` elapsed,
// or the second SIGINT/SIGTERM (in any mix, when watched; counted in
// occurrences, so two coalesced into one delivery are two): the first one is
// reported like any other signal, so a user can see that Ctrl-C reaches the
// process, and a second one is how to leave.
//
// Returns the exit status: 0, or 1 when a count was asked for and not
// reached (so `sigwatch --count=1 --timeout=5s` works as "wait for a signal"
// in scripts), or 1 if portsig refused the signals, or 1 (with a line on
// stderr) if stdout could not be written: a full disk, or a pipe whose
// reader is gone when SIGPIPE is ignored or watched (with SIGPIPE's default
// action sigwatch dies of it, as `yes | head -1` does). Such a watch stops
// at the failed write.
#ifndef PORTSIG_TOOLS_WATCH_H_
#define PORTSIG_TOOLS_WATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "os_signal/signal.h"
#include "tools/reporter.h"

namespace portsig {
namespace sigwatch {

struct WatchOptions {
  std::vector<Signal> signals;
  int64_t count = 0;  // 0: no limit.
  absl::Duration timeout = absl::InfiniteDuration();
  size_t buffer = 64;
  std::string backend;
};

int RunWatch(const WatchOptions& options, Reporter& reporter);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_WATCH_H_
