#include "tests/tools/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace portsig {
namespace testing {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::vector<int>& blocked) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int signo : blocked) sigaddset(&mask, signo);
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "pipe2");
  }
  std::unique_ptr<Subprocess> process(new Subprocess);
  process->pid_ = fork();
  if (process->pid_ < 0) return absl::ErrnoToStatus(errno, "fork");
  if (process->pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    execv(args[0], args.data());
    _exit(126);
  }
  close(out[1]);
  close(err[1]);
  process->fds_[kStdout] = out[0];
  process->fds_[kStderr] = err[0];
  return process;
}

Subprocess::~Subprocess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

void Subprocess::ReadFrom(Stream stream) {
  char buffer[4096];
  ssize_t n = read(fds_[stream], buffer, sizeof(buffer));
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    close(fds_[stream]);
    fds_[stream] = -1;
    if (!partial_[stream].empty()) {
      lines_[stream].push_back(std::move(partial_[stream]));
      partial_[stream].clear();
    }
    return;
  }
  partial_[stream].append(buffer, n);
  size_t newline;
  while ((newline = partial_[stream].find('\n')) != std::string::npos) {
    lines_[stream].push_back(partial_[stream].substr(0, newline));
    partial_[stream].erase(0, newline + 1);
  }
}

void Subprocess::Pump(absl::Duration timeout) {
  pollfd fds[2];
  int count = 0;
  Stream streams[2];
  for (Stream stream : {kStdout, kStderr}) {
    if (fds_[stream] < 0) continue;
    fds[count] = {fds_[stream], POLLIN, 0};
    streams[count++] = stream;
  }
  int millis = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  if (count == 0) {
    poll(nullptr, 0, millis);
    return;
  }
  if (poll(fds, count, millis) <= 0) return;
  for (int i = 0; i < count; ++i) {
    if (fds[i].revents != 0) ReadFrom(streams[i]);
  }
}

std::optional<std::string> Subprocess::WaitForLine(Stream stream,
                                                   absl::string_view needle,
                                                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (size_t checked = 0;;) {
    for (; checked < lines_[stream].size(); ++checked) {
      if (absl::StrContains(lines_[stream][checked], needle)) {
        return lines_[stream][checked];
      }
    }
    if (fds_[stream] < 0 || absl::Now() >= deadline) return std::nullopt;
    Pump(std::min(absl::Milliseconds(100), deadline - absl::Now()));
  }
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    pid_t reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) break;
    if (absl::Now() >= deadline) return std::nullopt;
    Pump(absl::Milliseconds(20));
  }
  reaped_ = true;
  // Whatever it wrote before exiting. Descendants that outlive it may keep
  // the pipes open, so this drain is bounded separately.
  const absl::Time drained = absl::Now() + absl::Seconds(5);
  while ((fds_[kStdout] >= 0 || fds_[kStderr] >= 0) && absl::Now() < drained) {
    Pump(absl::Milliseconds(20));
  }
  return status;
}

std::string Subprocess::Transcript() const {
  std::string out;
  for (Stream stream : {kStdout, kStderr}) {
    absl::StrAppend(&out, stream == kStdout ? "--- stdout\n" : "--- stderr\n");
    for (const std::string& line : lines_[stream]) {
      absl::StrAppend(&out, line, "\n");
    }
    if (!partial_[stream].empty()) absl::StrAppend(&out, partial_[stream]);
  }
  return out;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::StrCat("status ", status);
}

std::string SigwatchPath() {
  char* cwd = getcwd(nullptr, 0);
  std::string path = absl::StrCat(cwd, "/tools/sigwatch");
  std::free(cwd);
  return path;
}

}  // namespace testing
}  // namespace portsig
