// Terminal: relay mode's hold on its controlling terminal, so a command
// that reads or configures the terminal works as it would without sigwatch.
//
// The command runs in a process group of its own (see spawn.h). A process
// outside the terminal's foreground group that reads it is stopped by
// SIGTTIN (and by SIGTTOU when it changes the terminal's settings), so when
// sigwatch's group has the foreground at the start, the command's group is
// given it (the child calls tcsetpgrp before exec), and it is taken back
// when the command is done, as a job-control shell does for its jobs.
//
// Nothing happens when stdin is not sigwatch's controlling terminal, or
// when sigwatch runs in the background (it does not steal the terminal from
// whoever has it).
#ifndef PORTSIG_TOOLS_TERMINAL_H_
#define PORTSIG_TOOLS_TERMINAL_H_

#include <sys/types.h>

namespace portsig {
namespace sigwatch {

class Terminal {
 public:
  // The terminal on `fd` (stdin by default), held if it is sigwatch's
  // controlling terminal, whatever group has its foreground now.
  static Terminal Open(int fd = 0);

  // Whether sigwatch controls a terminal at all.
  bool held() const { return fd_ >= 0; }
  // The descriptor the child gives to tcsetpgrp, if sigwatch's group has
  // the foreground now; else -1 (the command starts in the background).
  int ForegroundFd() const;

  // Gives the foreground to `pgrp` if sigwatch's group has it now (a shell
  // that resumed sigwatch with `fg` gave it to sigwatch's group).
  void GiveTo(pid_t pgrp) const;
  // Takes the foreground back for sigwatch's group if `pgrp` (the command's
  // group) has it, or it belongs to a group that no longer exists.
  void TakeBackFrom(pid_t pgrp) const;

 private:
  explicit Terminal(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_TERMINAL_H_
