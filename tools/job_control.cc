#include "tools/job_control.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace portsig {
namespace sigwatch {
namespace {

// The parent of `pid` (its own getppid() for sigwatch), or -1.
pid_t ParentOf(pid_t pid) {
  if (pid == getpid()) return getppid();
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat).substr(close_paren + 1), ' ', absl::SkipEmpty());
  int ppid = -1;
  if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid)) return -1;
  return ppid;
}

}  // namespace

bool IsStopRequest(int signo) {
  return signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU;
}

StopReaction ReactToStop(int stop_signal, bool requested,
                         bool under_job_control) {
  if (requested) return StopReaction::kNone;
  if (under_job_control) return StopReaction::kStopOwnGroup;
  if (stop_signal == SIGTSTP) return StopReaction::kResume;
  return StopReaction::kWarn;
}

bool UnderJobControl() {
  // A namespace's init has no parent in its namespace (getppid() is 0).
  const pid_t group = getpgrp();
  const pid_t session = getsid(0);
  pid_t pid = getpid();
  // Bounded: a chain of ancestors in one group is short.
  for (int depth = 0; depth < 64; ++depth) {
    const pid_t parent = ParentOf(pid);
    if (parent <= 0) return false;
    const pid_t parent_group = getpgid(parent);
    if (parent_group < 0 || getsid(parent) != session) return false;
    if (parent_group != group) return true;
    pid = parent;
  }
  return false;
}

void StopSelf() { kill(getpid(), SIGSTOP); }

void StopOwnGroup() { kill(0, SIGSTOP); }

}  // namespace sigwatch
}  // namespace portsig
