// RunInChild: runs a test body in a forked child, so a signal's default
// action kills the child and never the test runner. The child exits 0 if
// the body recorded no gtest failure, 1 otherwise; its output is inherited.
// RunInChildCapturing and RunInChildCapturingStderr also hand back what the
// child wrote to a pipe, or to its standard error.
// Fork only from a runner that has not started portsig itself, or whose
// portsig threads are asleep: RunInChild waits (boundedly) for that.
#ifndef PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_
#define PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/proc_tasks.h"

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

// Waits until portsig's long-lived threads (the dispatcher, the restorer
// and the mask thread, named portsig-signals, portsig-restore and
// portsig-mask) are asleep, or two seconds have passed. GCC 12's ASan does not
// lock its allocator or thread registry across fork(), so a child forked while
// one of them was starting up or allocating can inherit those locks held and
// hang. Stop no longer waits for the dispatcher to park (it drains the queue
// itself), so tests cannot count on that. The generic POSIX layer names no
// threads, so there it finds none and returns at once; CI's ASan stage, where
// the hang was seen, builds the Linux layer.
inline void WaitForPortsigThreadsAsleep() {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    bool all_asleep = true;
    for (const std::string& tid : TaskIds()) {
      const std::string comm = ReadTaskFile(tid, "comm");
      if (comm.rfind("portsig-signals", 0) != 0 &&
          comm.rfind("portsig-restore", 0) != 0 &&
          comm.rfind("portsig-mask", 0) != 0) {
        continue;
      }
      if (!TaskSleeps(tid)) all_asleep = false;
    }
    if (all_asleep) return;
    if (std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "RunInChild: forking with portsig threads busy\n");
      return;
    }
    sched_yield();
  }
}

// With `continue_stopped`, a child stopped by a stop signal (SIGTSTP's
// default action) is continued with SIGCONT each time, until it ends.
inline ChildStatus RunInChild(const std::function<void()>& body,
                              bool continue_stopped = false) {
  WaitForPortsigThreadsAsleep();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(60);  // Watchdog: a hang becomes a SIGALRM death, not a stuck run.
    body();
    std::fflush(nullptr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  ChildStatus status;
  while (waitpid(pid, &status.raw, continue_stopped ? WUNTRACED : 0) == pid &&
         WIFSTOPPED(status.raw)) {
    kill(pid, SIGCONT);
  }
  return status;
}

// How a child run by RunInChildCapturing ended, and what it wrote.
struct CapturedChild {
  ChildStatus status;
  std::string output;
};

// RunInChild, with a pipe: `body` gets the pipe's write end, and what the
// child wrote there (from its signal handlers too: write(2) is
// async-signal-safe) is returned once it has ended. The parent reads only
// then, without blocking (a grandchild may still hold the write end), so
// the output must fit the pipe's buffer (64 KiB on Linux); a child writing
// more blocks until its watchdog kills it, which the status shows.
inline CapturedChild RunInChildCapturing(
    const std::function<void(int write_fd)>& body) {
  CapturedChild child;
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    child.status.raw = -1;  // Neither exited_ok() nor killed_by() anything.
    return child;
  }
  child.status = RunInChild([&] {
    close(fds[0]);
    body(fds[1]);
  });
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
    child.output.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  return child;
}

// RunInChildCapturing with the pipe as the child's standard error.
inline CapturedChild RunInChildCapturingStderr(
    const std::function<void()>& body) {
  return RunInChildCapturing([&](int write_fd) {
    dup2(write_fd, STDERR_FILENO);
    body();
  });
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_
