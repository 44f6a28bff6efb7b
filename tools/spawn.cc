#include "tools/spawn.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portsig {
namespace sigwatch {
namespace {

// Runs in the forked child of a threaded process: async-signal-safe calls
// only. Reports an exec failure's errno through `error_fd`.
[[noreturn]] void ExecChild(char* const argv[], const std::vector<int>& reset,
                            const IgnoredSet& ignored, const sigset_t& mask,
                            int foreground_fd, int error_fd) {
  setpgid(0, 0);
  // Here rather than in the relay, so the command never runs a moment in the
  // background (nor after it has handed the terminal on to a job of its
  // own). Every signal is blocked, SIGTTOU too, so tcsetpgrp from this
  // background group is allowed.
  if (foreground_fd >= 0) tcsetpgrp(foreground_fd, getpid());
  for (int signo : reset) {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = ignored[signo] ? SIG_IGN : SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signo, &action, nullptr);
  }
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  execvp(argv[0], argv);
  int error = errno;
  ssize_t ignored_bytes = write(error_fd, &error, sizeof(error));
  (void)ignored_bytes;
  _exit(127);
}

// Waits for the exec-or-errno report: 0 once the command runs.
int ReadExecError(int fd) {
  int error = 0;
  ssize_t n;
  do {
    n = read(fd, &error, sizeof(error));
  } while (n < 0 && errno == EINTR);
  return n == sizeof(error) ? error : 0;
}

}  // namespace

IgnoredSet RecordIgnored(const std::vector<int>& signals) {
  IgnoredSet ignored;
  for (int signo : signals) {
    struct sigaction action;
    if (sigaction(signo, nullptr, &action) == 0) {
      ignored[signo] =
          !(action.sa_flags & SA_SIGINFO) && action.sa_handler == SIG_IGN;
    }
  }
  return ignored;
}

absl::StatusOr<Spawned> SpawnInOwnGroup(const std::vector<std::string>& argv,
                                        const std::vector<int>& reset,
                                        const IgnoredSet& ignored,
                                        const sigset_t& mask,
                                        int foreground_fd) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "pipe");
  }
  // Blocked across fork, so a signal for the child's group that comes
  // before its dispositions are set waits instead of reaching portsig's
  // handler in the child, where nobody would read it.
  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old_mask);
  pid_t child = fork();
  if (child == 0) {
    ExecChild(args.data(), reset, ignored, mask, foreground_fd, error_pipe[1]);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  close(error_pipe[1]);
  if (child < 0) {
    close(error_pipe[0]);
    return absl::ErrnoToStatus(fork_errno, "fork");
  }
  // Also here, so the group exists before the first forward whichever
  // process runs first.
  setpgid(child, child);
  Spawned spawned;
  spawned.pid = child;
  spawned.exec_error = ReadExecError(error_pipe[0]);
  close(error_pipe[0]);
  if (spawned.exec_error != 0) {
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return spawned;
}

}  // namespace sigwatch
}  // namespace portsig
