#include "tools/finish.h"

#include <cstdio>
#include <optional>
#include <utility>

#include "tools/signal_list.h"

namespace portsig {
namespace sigwatch {

void StopWatching(SignalChannel& channel, const std::vector<Signal>& watched) {
  if (absl::Status ignored = Ignore(watched); !ignored.ok()) {
    std::fprintf(stderr, "sigwatch: ignoring signals at exit: %s\n",
                 ignored.ToString().c_str());
  }
  Stop(channel);
}

Summary FinishWatching(SignalChannel& channel,
                       const std::vector<Signal>& watched, std::string reason) {
  StopWatching(channel, watched);
  Summary summary;
  summary.reason = std::move(reason);
  summary.dropped = channel.dropped();
  summary.dropped_occurrences = channel.dropped_occurrences();
  // Drained one by one because relay mode's channel also holds SIGCHLD,
  // which is sigwatch's own business and not a watched delivery.
  while (std::optional<Signal> left = channel.TryReceive()) {
    if (Contains(watched, *left)) ++summary.unread;
  }
  summary.queue_overflows = QueueOverflows();
  return summary;
}

}  // namespace sigwatch
}  // namespace portsig
