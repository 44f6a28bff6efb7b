// Relay mode of sigwatch: run a command as a child in its own process group
// and pass the watched signals on to that group, so a supervisor that can
// only signal one pid (a container runtime, a CI runner, systemd's main pid)
// reaches every process of the command.
//
// Promises:
// - The child starts with the dispositions it would have had without
//   sigwatch (SIG_IGN inherited stays ignored, everything else default) and
//   an empty signal mask. A signal that arrives between fork and exec waits
//   (blocked) and then takes that disposition; it is never absorbed.
// - Each watched signal received is sent to the child's group and reported
//   (action=forward) with who sent it to sigwatch (the group sees sigwatch
//   as the sender). Coalesced occurrences are forwarded once. SIGINT and
//   SIGTERM are always watched in this mode: otherwise their default action
//   would kill sigwatch and orphan the child.
// - A second SIGINT/SIGTERM within `grace` of the previous one sends
//   SIGKILL to the group instead (action=kill); grace 0 never escalates.
// - sigwatch exits when the child does, with its exit status, or 128+N if
//   signal N killed it; 127 (126) if the command cannot be found (run).
// - The ready line is printed only once the command has been exec'd.
// - The child is not given the terminal: it is for non-interactive commands
//   (a child reading the tty would stop with SIGTTIN).
#ifndef PORTSIG_TOOLS_RELAY_H_
#define PORTSIG_TOOLS_RELAY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "os_signal/signal.h"
#include "tools/reporter.h"

namespace portsig {
namespace sigwatch {

struct RelayOptions {
  // Must not contain SIGCHLD, which relay mode uses to reap the child.
  std::vector<Signal> signals;
  absl::Duration grace = absl::Seconds(5);
  std::vector<std::string> command;
  size_t buffer = 64;
  std::string backend;
};

int RunRelay(const RelayOptions& options, Reporter& reporter);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_RELAY_H_
