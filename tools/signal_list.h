// The --signals list of sigwatch: "INT,TERM,10,hangup" becomes the signals
// to watch, in the order given, without repeats. Every element must name a
// signal this process can catch (Signal::Parse and Validate decide), so
// SIGKILL, SIGSTOP and unknown names are errors that name the element. Text
// notes ("note:reload") are refused too: only the process itself can post
// one, so a watcher of other processes' signals would wait for it forever.
#ifndef PORTSIG_TOOLS_SIGNAL_LIST_H_
#define PORTSIG_TOOLS_SIGNAL_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "os_signal/signal.h"

namespace portsig {
namespace sigwatch {

absl::StatusOr<std::vector<Signal>> ParseSignalList(absl::string_view list);

// "SIGHUP,SIGINT", for the ready line.
std::string JoinSignalNames(const std::vector<Signal>& signals);

bool Contains(const std::vector<Signal>& signals, const Signal& signal);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_SIGNAL_LIST_H_
