#include "tools/relay.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "tools/finish.h"
#include "tools/signal_list.h"

namespace portsig {
namespace sigwatch {
namespace {

using Clock = std::chrono::steady_clock;

// What the child gets for each signal portsig handles in sigwatch: exec
// resets caught signals to SIG_DFL but keeps SIG_IGN, so the choice must be
// made from the disposition sigwatch itself started with.
struct StartDispositions {
  bool ignored[NSIG] = {};
};

StartDispositions RecordStartDispositions(const std::vector<int>& signals) {
  StartDispositions start;
  for (int signo : signals) {
    struct sigaction action;
    if (sigaction(signo, nullptr, &action) == 0) {
      start.ignored[signo] =
          !(action.sa_flags & SA_SIGINFO) && action.sa_handler == SIG_IGN;
    }
  }
  return start;
}

// Runs in the forked child of a threaded process: async-signal-safe calls
// only. Reports an exec failure's errno through `error_fd`.
[[noreturn]] void ExecChild(char* const argv[], const std::vector<int>& signals,
                            const StartDispositions& start,
                            const sigset_t& mask, int error_fd) {
  setpgid(0, 0);
  for (int signo : signals) {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = start.ignored[signo] ? SIG_IGN : SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signo, &action, nullptr);
  }
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  execvp(argv[0], argv);
  int error = errno;
  ssize_t ignored = write(error_fd, &error, sizeof(error));
  (void)ignored;
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

int ExitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

bool IsInterrupt(const Signal& signal) {
  return signal.number() == SIGINT || signal.number() == SIGTERM;
}

}  // namespace

int RunRelay(const RelayOptions& options, Reporter& reporter) {
  std::vector<Signal> subscribed = options.signals;
  subscribed.push_back(SIGCHLD);
  std::vector<int> numbers;
  for (const Signal& signal : subscribed) numbers.push_back(signal.number());
  // Before Notify, which replaces them.
  const StartDispositions start = RecordStartDispositions(numbers);

  // SIGCHLD is subscribed before fork so a child that exits at once still
  // wakes the loop.
  SignalChannel channel(options.buffer);
  if (absl::Status status = Notify(channel, subscribed); !status.ok()) {
    std::fprintf(stderr, "sigwatch: %s\n", status.ToString().c_str());
    return 1;
  }

  std::vector<char*> argv;
  for (const std::string& arg : options.command) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "sigwatch: pipe: %s\n", std::strerror(errno));
    return 1;
  }
  // Blocked across fork, so a signal for the child's group that comes
  // before its dispositions are set waits instead of reaching portsig's
  // handler in the child, where nobody would read it.
  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old_mask);
  pid_t child = fork();
  if (child == 0) {
    ExecChild(argv.data(), numbers, start, old_mask, error_pipe[1]);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  close(error_pipe[1]);
  if (child < 0) {
    close(error_pipe[0]);
    std::fprintf(stderr, "sigwatch: fork: %s\n", std::strerror(fork_errno));
    return 1;
  }
  // Also here, so the group exists before the first forward whichever
  // process runs first.
  setpgid(child, child);
  int exec_error = ReadExecError(error_pipe[0]);
  close(error_pipe[0]);
  if (exec_error != 0) {
    waitpid(child, nullptr, 0);
    std::fprintf(stderr, "sigwatch: cannot run \"%s\": %s\n", argv[0],
                 std::strerror(exec_error));
    return exec_error == ENOENT ? 127 : 126;
  }

  std::fprintf(stderr, "sigwatch: relaying %s pid=%d child=%d backend=%s\n",
               JoinSignalNames(options.signals).c_str(),
               static_cast<int>(getpid()), static_cast<int>(child),
               options.backend.c_str());
  std::fflush(stderr);

  std::optional<Clock::time_point> last_interrupt;
  int status = 0;
  for (;;) {
    pid_t reaped;
    do {
      reaped = waitpid(child, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == child) break;
    if (reaped < 0) {
      std::fprintf(stderr, "sigwatch: waitpid: %s\n", std::strerror(errno));
      status = 1 << 8;  // As if exited 1.
      break;
    }
    // SIGCHLD wakes this; the timeout is a backstop in case a full channel
    // dropped it.
    std::optional<Delivery> received =
        channel.ReceiveDeliveryFor(absl::Seconds(1));
    if (!received || received->signal.number() == SIGCHLD) continue;

    int send = received->signal.number();
    const char* action = "forward";
    if (IsInterrupt(received->signal)) {
      Clock::time_point now = Clock::now();
      if (last_interrupt && options.grace > absl::ZeroDuration() &&
          now - *last_interrupt < absl::ToChronoNanoseconds(options.grace)) {
        send = SIGKILL;
        action = "kill";
      }
      last_interrupt = now;
    }
    // ESRCH: the group is gone; the child's exit is about to be reaped.
    kill(-child, send);
    reporter.Report(*received, action);
  }

  Summary summary =
      FinishWatching(channel, options.signals,
                     WIFSIGNALED(status) ? "child-signaled" : "child-exited");
  summary.exit_code = ExitStatusOf(status);
  reporter.PrintSummary(summary);
  return *summary.exit_code;
}

}  // namespace sigwatch
}  // namespace portsig
