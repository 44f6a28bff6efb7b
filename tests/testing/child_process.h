// RunInChild: runs a test body in a forked child, so a signal's default
// action kills the child and never the test runner. The child exits 0 if
// the body recorded no gtest failure, 1 otherwise; its output is inherited.
// Fork only from a runner that has not started portsig itself, or whose
// portsig threads are asleep: RunInChild waits (boundedly) for that.
#ifndef PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_
#define PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
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

// Waits until portsig's long-lived threads (the dispatcher and the
// restorer, named portsig-signals and portsig-restore) are asleep, or two
// seconds have passed. GCC 12's ASan does not lock its allocator or thread
// registry across fork(), so a child forked while one of them was starting
// up or allocating can inherit those locks held and hang. Stop no longer
// waits for the dispatcher to park (it drains the queue itself), so tests
// cannot count on that.
inline void WaitForPortsigThreadsAsleep() {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto read = [](const std::string& path, char* buf, size_t size) {
    buf[0] = '\0';
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      size_t n = std::fread(buf, 1, size - 1, f);
      buf[n] = '\0';
      std::fclose(f);
    }
  };
  for (;;) {
    bool all_asleep = true;
    if (DIR* tasks = opendir("/proc/self/task")) {
      while (const dirent* entry = readdir(tasks)) {
        if (entry->d_name[0] == '.') continue;
        const std::string dir = std::string("/proc/self/task/") + entry->d_name;
        char comm[64];
        read(dir + "/comm", comm, sizeof(comm));
        if (std::strncmp(comm, "portsig-signals", 15) != 0 &&
            std::strncmp(comm, "portsig-restore", 15) != 0) {
          continue;
        }
        char stat[512];
        read(dir + "/stat", stat, sizeof(stat));
        const char* close_paren = std::strrchr(stat, ')');
        if (close_paren == nullptr || close_paren[1] != ' ' ||
            close_paren[2] != 'S') {
          all_asleep = false;
        }
      }
      closedir(tasks);
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

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_CHILD_PROCESS_H_
