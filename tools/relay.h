// Relay mode of sigwatch: run a command as a child in its own process group
// and pass the signals sigwatch receives on to that group, so a supervisor
// that can signal only one pid (a container runtime, a CI runner, systemd's
// main pid) reaches every process of the command. Meant to be a container's
// PID 1 (ENTRYPOINT ["sigwatch", "--relay", "--"]).
//
// Promises, while the command runs:
// - Forwarding: every signal sigwatch receives is sent to the command's
//   group, except SIGCHLD, or only `forwarded` (the rest are caught and
//   dropped). Nothing sent to sigwatch
//   ends it by its default action (SIGKILL excepted, and SIGSTOP stops it).
//   Repeats of a standard signal may coalesce into one forward (so does the
//   kernel); every occurrence of a real-time signal is forwarded. A signal
//   sigwatch raised itself (SIGPIPE from writing to a closed stderr) is not
//   forwarded.
// - The command starts with the dispositions it would have had without
//   sigwatch (SIG_IGN inherited stays ignored, everything else default) and
//   sigwatch's signal mask; a signal that arrives between fork and exec
//   waits for them (see spawn.h).
// - Escalation (see escalation.h): the same SIGINT or SIGTERM twice within
//   `grace` sends SIGKILL to the group instead of the second; `kill_after`
//   after the first forwarded SIGINT/SIGTERM, SIGKILL to the group.
// - Reaping: as PID 1, or with `subreaper` (PR_SET_CHILD_SUBREAPER), every
//   child that ends is reaped, orphans included, so no zombie stays.
// - Terminal (terminal.h): when stdin is sigwatch's controlling terminal
//   and sigwatch is in its foreground, the command's group gets the
//   foreground before the command is exec'd, and sigwatch takes it back
//   when the command exits.
// - Job control (job_control.h): SIGTSTP, SIGTTIN, SIGTTOU sent to sigwatch
//   stop the command's group, then sigwatch; SIGCONT resumes both. A command
//   that stops by itself is never left stopped without a word: sigwatch
//   stops with it under a job-control shell, else resumes it (SIGTSTP) or
//   says on stderr that it is stopped.
// Then:
// - sigwatch exits when the command does, with its exit status, or 128+N
//   if signal N killed it; 127 (126) if the command cannot be found (run);
//   1 if sigwatch itself fails. Before exiting it sends SIGTERM (and
//   SIGCONT) to what is left of the command's group, as dumb-init does.
// - Output: nothing on stdout, which is the command's; on stderr only
//   errors, unless `reporter` is given (--verbose): then a ready line once
//   the command has been exec'd, one line per signal received (with the
//   action: forward, kill, ignore) and a summary.
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
  // Signals to forward; must not contain SIGCHLD.
  std::vector<Signal> forwarded;
  absl::Duration grace = absl::Seconds(5);
  absl::Duration kill_after = absl::ZeroDuration();
  bool subreaper = false;
  std::vector<std::string> command;
  size_t buffer = 4096;
  std::string backend;
};

// Runs the command and relays until it exits; returns sigwatch's exit
// status. `reporter` may be null (quiet).
int RunRelay(const RelayOptions& options, Reporter* reporter);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_RELAY_H_
