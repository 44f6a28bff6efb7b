// RunInChild: runs a test body in a forked child, so a signal's default
// action kills the child and never the test runner. The child exits 0 if
// the body recorded no gtest failure, 1 otherwise; its output is inherited.
// Fork only from a runner that has not started portsig itself.
#ifndef PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_
#define PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "gtest/gtest.h"

namespace portsig {
namespace testing {

struct ChildStatus {
  int raw = 0;
  bool exited_ok() const { return WIFEXITED(raw) && WEXITSTATUS(raw) == 0; }
  bool killed_by(int signo) const {
    return WIFSIGNALED(raw) && WTERMSIG(raw) == signo;
  }
  std::string ToString() const {
    if (WIFEXITED(raw)) return "exited " + std::to_string(WEXITSTATUS(raw));
    if (WIFSIGNALED(raw))
      return "killed by signal " + std::to_string(WTERMSIG(raw));
    return "status " + std::to_string(raw);
  }
};

inline ChildStatus RunInChild(const std::function<void()>& body) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(60);  // Watchdog: a hang becomes a SIGALRM death, not a stuck run.
    body();
    std::fflush(nullptr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  ChildStatus status;
  waitpid(pid, &status.raw, 0);
  return status;
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_
