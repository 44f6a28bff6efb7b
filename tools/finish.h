// FinishWatching: how sigwatch stops listening once it has decided to exit.
//
// It ignores the watched signals rather than restoring their default
// action, so a signal that arrives while the summary is printed cannot kill
// sigwatch and turn a clean exit (status 0, or the relayed child's status)
// into death by that signal. Only then are the channel's loss counters read,
// since nothing can change them any more.
#ifndef PORTSIG_TOOLS_FINISH_H_
#define PORTSIG_TOOLS_FINISH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "os_signal/signal.h"
#include "tools/reporter.h"

namespace portsig {
namespace sigwatch {

// Stops the watch: `watched` ignored, `channel` stopped. Once it returns,
// every watched signal that reached the process before is in the channel
// and nothing more arrives. Calling it again changes nothing.
void StopWatching(SignalChannel& channel, const std::vector<Signal>& watched);

// StopWatching, then fills `summary` with the loss counts of `channel`;
// `reason` as given.
Summary FinishWatching(SignalChannel& channel,
                       const std::vector<Signal>& watched, std::string reason);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_FINISH_H_
