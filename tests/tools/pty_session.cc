#include "tests/tools/pty_session.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"

namespace portsig {
namespace testing {

absl::StatusOr<std::unique_ptr<PtySession>> PtySession::Start(
    const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  std::unique_ptr<PtySession> session(new PtySession);
  // forkpty: the child is the leader of a new session whose controlling
  // terminal is the pty's slave, on its fds 0, 1 and 2; its group has the
  // terminal's foreground.
  session->pid_ = forkpty(&session->master_, nullptr, nullptr, nullptr);
  if (session->pid_ < 0) return absl::ErrnoToStatus(errno, "forkpty");
  if (session->pid_ == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(126);
  }
  fcntl(session->master_, F_SETFD, FD_CLOEXEC);
  return session;
}

PtySession::~PtySession() {
  if (master_ >= 0) close(master_);
  if (!reaped_ && pid_ > 0) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool PtySession::Type(absl::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(master_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(n);
  }
  return true;
}

void PtySession::Pump(absl::Duration timeout) {
  if (master_ < 0 || hung_up_) return;
  pollfd fd = {master_, POLLIN, 0};
  if (poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) {
    return;
  }
  char buffer[4096];
  ssize_t n = read(master_, buffer, sizeof(buffer));
  if (n > 0) {
    output_.append(buffer, n);
  } else if (n == 0 || errno != EINTR) {
    // EIO: no process has the terminal open any more.
    hung_up_ = true;
  }
}

bool PtySession::WaitForOutput(absl::string_view needle,
                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (absl::StrContains(output_, needle)) return true;
    if (hung_up_ || absl::Now() >= deadline) return false;
    Pump(std::min(absl::Milliseconds(50), deadline - absl::Now()));
  }
}

std::optional<int> PtySession::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  for (;;) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (absl::Now() >= deadline) return std::nullopt;
    Pump(absl::Milliseconds(20));
  }
  reaped_ = true;
  // What is left in the terminal's buffer.
  for (int i = 0; i < 10; ++i) Pump(absl::Milliseconds(10));
  return status;
}

}  // namespace testing
}  // namespace portsig
