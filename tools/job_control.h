// Job control in relay mode: what sigwatch does when its command stops.
//
// Stops asked of sigwatch (dumb-init's semantics): SIGTSTP, SIGTTIN or
// SIGTTOU sent to sigwatch is forwarded to the command's group, then
// sigwatch stops itself (SIGSTOP); SIGCONT resumes sigwatch (the kernel
// does) and then the command's group (sigwatch forwards it, after giving
// the group the terminal's foreground again if a shell's `fg` gave it to
// sigwatch). As a PID namespace's init sigwatch cannot stop itself (the
// kernel ignores the SIGSTOP it sends itself): the command's group alone
// stays stopped until SIGCONT.
//
// Stops the command comes to by itself: Ctrl-Z on the terminal reaches only
// the command's group (it has the foreground), and SIGTTIN/SIGTTOU stop a
// command that uses a terminal from the background. What sigwatch does
// then (StopReaction):
// - Under job control (some process of sigwatch's group has a parent in
//   another group of the same session: a job-control shell started the
//   job), it stops its whole group too, so the shell sees its job stop as it
//   would have without sigwatch, and takes the terminal back; `fg` or `bg`
//   resumes it, and it resumes the command as above.
// - Else nothing above sigwatch can resume it (it is PID 1, or runs under
//   `script`, a supervisor, a non-interactive shell). A command stopped by
//   SIGTSTP is resumed at once, as the kernel does not stop an orphaned
//   group with it (and as under dumb-init, where Ctrl-Z does nothing). A
//   command stopped otherwise (SIGTTIN, SIGTTOU, SIGSTOP) stays stopped, and
//   sigwatch says so on stderr, with how to resume it (SIGCONT to
//   sigwatch): resuming it would only stop it again.
#ifndef PORTSIG_TOOLS_JOB_CONTROL_H_
#define PORTSIG_TOOLS_JOB_CONTROL_H_

namespace portsig {
namespace sigwatch {

// SIGTSTP, SIGTTIN, SIGTTOU.
bool IsStopRequest(int signo);

enum class StopReaction {
  // Nothing to do: sigwatch asked for the stop and has stopped itself.
  kNone,
  // Stop sigwatch's own group.
  kStopOwnGroup,
  // Send SIGCONT to the command's group.
  kResume,
  // Leave it stopped and say so.
  kWarn,
};

// What to do when the command stopped by `stop_signal`. `requested`: the
// stop was asked of sigwatch (or mirrored by it) and no SIGCONT came since.
StopReaction ReactToStop(int stop_signal, bool requested,
                         bool under_job_control);

// Whether a job-control shell can resume sigwatch's group (see above):
// walks up from sigwatch through the ancestors in its own group (their
// parents read from /proc) to the first one outside it.
bool UnderJobControl();

// Stops sigwatch (SIGSTOP); returns once it has been continued.
void StopSelf();
// Stops sigwatch's process group (SIGSTOP), sigwatch with it.
void StopOwnGroup();

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_JOB_CONTROL_H_
