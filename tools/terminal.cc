#include "tools/terminal.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace portsig {
namespace sigwatch {
namespace {

// tcsetpgrp from a background group sends SIGTTOU to the caller's group
// unless the calling thread blocks or ignores it; sigwatch catches SIGTTOU
// (and would forward it), so it is blocked in this thread for the call.
void SetForeground(int fd, pid_t pgrp) {
  sigset_t ttou, old_mask;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old_mask);
  while (tcsetpgrp(fd, pgrp) != 0 && errno == EINTR) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
}

}  // namespace

Terminal Terminal::Open(int fd) {
  // tcgetpgrp fails (ENOTTY) unless `fd` is the caller's controlling
  // terminal.
  return Terminal(isatty(fd) && tcgetpgrp(fd) > 0 ? fd : -1);
}

int Terminal::ForegroundFd() const {
  return held() && tcgetpgrp(fd_) == getpgrp() ? fd_ : -1;
}

void Terminal::GiveTo(pid_t pgrp) const {
  if (ForegroundFd() >= 0) SetForeground(fd_, pgrp);
}

void Terminal::TakeBackFrom(pid_t pgrp) const {
  if (!held()) return;
  const pid_t foreground = tcgetpgrp(fd_);
  if (foreground <= 0 || foreground == getpgrp()) return;
  if (foreground == pgrp || (kill(-foreground, 0) != 0 && errno == ESRCH)) {
    SetForeground(fd_, getpgrp());
  }
}

}  // namespace sigwatch
}  // namespace portsig
