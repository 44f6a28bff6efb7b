// This process's threads as Linux's /proc/self/task shows them: their ids,
// a file of one (comm, stat, status), whether one is asleep, and waiting
// until one blocks in a wait. Header-only and gtest-free, for tests that
// look at threads from outside.
#ifndef PORTSIG_TESTS_TESTING_PROC_TASKS_H_
#define PORTSIG_TESTS_TESTING_PROC_TASKS_H_

#include <dirent.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace portsig {
namespace testing {

// The ids of this process's threads, as strings (their /proc names).
inline std::vector<std::string> TaskIds() {
  std::vector<std::string> ids;
  if (DIR* tasks = opendir("/proc/self/task")) {
    while (const dirent* entry = readdir(tasks)) {
      if (entry->d_name[0] != '.') ids.emplace_back(entry->d_name);
    }
    closedir(tasks);
  }
  return ids;
}

// /proc/self/task/<tid>/<file>, whole; empty if it cannot be read.
inline std::string ReadTaskFile(const std::string& tid, const char* file) {
  std::string text;
  if (FILE* f =
          std::fopen(("/proc/self/task/" + tid + "/" + file).c_str(), "r")) {
    char buf[4096];
    size_t n = std::fread(buf, 1, sizeof(buf), f);
    text.assign(buf, n);
    std::fclose(f);
  }
  return text;
}

// True while thread `tid` is asleep in the kernel ('S' after the name in
// its stat line).
inline bool TaskSleeps(const std::string& tid) {
  const std::string stat = ReadTaskFile(tid, "stat");
  const size_t close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() &&
         stat[close_paren + 1] == ' ' && stat[close_paren + 2] == 'S';
}

// Returns once thread `tid` of this process sleeps in one of the system
// calls portsig's waits end in: futex(2) (a contended lock, a condition
// variable, the Linux layer's parkers and semaphores) or poll(2)/ppoll(2)
// (the generic POSIX layer's self-pipe parkers, which a thread blocked in
// Receive sleeps on there). /proc/self/task/TID/syscall starts with the
// number of the system call the thread is blocked in, or reads "running".
// A thread that never blocks is the caller's watchdog's business.
inline void WaitUntilBlocked(pid_t tid) {
  const std::string id = std::to_string(tid);
  for (;;) {
    const long number = std::atol(ReadTaskFile(id, "syscall").c_str());
    if (number == SYS_futex || number == SYS_ppoll) return;
#ifdef SYS_poll
    if (number == SYS_poll) return;
#endif
    usleep(100);
  }
}

}  // namespace testing
}  // namespace portsig

#endif  // PORTSIG_TESTS_TESTING_PROC_TASKS_H_
