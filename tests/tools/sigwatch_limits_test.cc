// sigwatch started under the kernel's resource limits, as a supervisor
// would start it: with no thread to spare (RLIMIT_NPROC) it says which
// thread it could not make and exits 1 in both modes; with no descriptor
// to spare for the relay's pipe (RLIMIT_NOFILE) it says so and exits 1,
// running nothing.
//
// RLIMIT_NPROC does not bind root, so the child becomes a uid of its own
// first; it execs sigwatch through a descriptor opened before, since the
// new uid may not search the directories above the binary.
#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

enum class Limit { kThreads, kDescriptors };

struct Ended {
  int status = -1;
  std::string stderr_text;
};

// Runs tools/sigwatch with `args` under `limit`; its stderr is returned.
Ended RunLimited(Limit limit, const std::vector<std::string>& args) {
  Ended ended;
  const int binary = open("tools/sigwatch", O_RDONLY | O_CLOEXEC);
  if (binary < 0) {
    ADD_FAILURE() << "tools/sigwatch: " << std::strerror(errno);
    return ended;
  }
  int err[2];
  if (pipe(err) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return ended;
  }
  std::vector<std::string> argv = {"sigwatch"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    alarm(60);
    dup2(err[1], STDERR_FILENO);
    // Only 0-2 and the binary: the limits below count what is open.
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != binary) close(fd);
    }
    struct rlimit now;
    if (limit == Limit::kThreads) {
      getrlimit(RLIMIT_NPROC, &now);
      now.rlim_cur = 1;  // This process's one thread.
      const uid_t id = 300000 + static_cast<uid_t>(getpid());
      if (setrlimit(RLIMIT_NPROC, &now) != 0 || setgroups(0, nullptr) != 0 ||
          setgid(id) != 0 || setuid(id) != 0) {
        _exit(90);
      }
    } else {
      // 0-2, the binary and the dynamic loader's needs: sigwatch gets as
      // far as its relay's pipe, which finds none left.
      getrlimit(RLIMIT_NOFILE, &now);
      now.rlim_cur = 4;
      if (setrlimit(RLIMIT_NOFILE, &now) != 0) _exit(90);
    }
    fexecve(binary, raw.data(), environ);
    _exit(91);
  }
  close(binary);
  close(err[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(err[0], buffer, sizeof(buffer))) > 0) {
    ended.stderr_text.append(buffer, static_cast<size_t>(n));
  }
  close(err[0]);
  EXPECT_EQ(waitpid(child, &ended.status, 0), child);
  return ended;
}

bool ExitedWith(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

TEST(SigwatchLimitsTest, WatchModeWithNoThreadToSpare) {
  Ended ended = RunLimited(Limit::kThreads, {"--timeout=10s"});
  EXPECT_TRUE(ExitedWith(ended.status, 1)) << ended.status;
  EXPECT_NE(ended.stderr_text.find("RESOURCE_EXHAUSTED"), std::string::npos)
      << ended.stderr_text;
  EXPECT_NE(ended.stderr_text.find("portsig-signals"), std::string::npos)
      << ended.stderr_text;
}

TEST(SigwatchLimitsTest, RelayModeWithNoThreadToSpare) {
  Ended ended = RunLimited(Limit::kThreads,
                           {"--relay", "--", "/bin/sh", "-c", "echo ran >&2"});
  EXPECT_TRUE(ExitedWith(ended.status, 1)) << ended.status;
  EXPECT_NE(ended.stderr_text.find("portsig-signals"), std::string::npos)
      << ended.stderr_text;
  EXPECT_EQ(ended.stderr_text.find("ran"), std::string::npos)
      << "the command ran: " << ended.stderr_text;
}

TEST(SigwatchLimitsTest, RelayModeWithNoDescriptorToSpare) {
#ifdef PORTSIG_TEST_UBSAN
  GTEST_SKIP() << "UBSan's vptr check probes memory through a pipe, and "
                  "reports an error when it cannot make one";
#endif
  Ended ended = RunLimited(Limit::kDescriptors,
                           {"--relay", "--", "/bin/sh", "-c", "echo ran >&2"});
  EXPECT_TRUE(ExitedWith(ended.status, 1)) << ended.status;
  EXPECT_NE(ended.stderr_text.find("Too many open files"), std::string::npos)
      << ended.stderr_text;
  EXPECT_EQ(ended.stderr_text.find("ran"), std::string::npos)
      << "the command ran: " << ended.stderr_text;
}

}  // namespace
