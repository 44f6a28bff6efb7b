#include "tools/relay.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/strings/string_view.h"
#include "tools/escalation.h"
#include "tools/finish.h"
#include "tools/reaper.h"
#include "tools/relay_signals.h"
#include "tools/signal_list.h"
#include "tools/spawn.h"

namespace portsig {
namespace sigwatch {
namespace {

using Clock = std::chrono::steady_clock;

// SIGCHLD wakes the loop; this is a backstop in case a full channel dropped
// it.
constexpr absl::Duration kBackstop = absl::Seconds(1);

int ExitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// One relay run, from the command's start to its exit.
class Relay {
 public:
  Relay(const RelayOptions& options, Reporter* reporter, SignalChannel& channel,
        pid_t child)
      : reporter_(reporter),
        channel_(channel),
        child_(child),
        reaper_(child, options.subreaper || getpid() == 1),
        escalation_(options.grace, options.kill_after) {
    for (const Signal& signal : options.forwarded) {
      forwarded_.set(signal.number());
    }
  }

  // Relays until the command exits; returns its wait status, or nullopt if
  // it could not be waited for.
  std::optional<int> Run();

  // After Run: signals what is left of the command's group; reaps what has
  // already ended.
  void CleanUp();

 private:
  void Handle(const Delivery& delivery);
  void HandleInterrupt(const Delivery& delivery);
  void SendToGroup(int signo) { kill(-child_, signo); }
  void Report(const Delivery& delivery, absl::string_view action) {
    if (reporter_ != nullptr) reporter_->Report(delivery, action);
  }
  // How long the loop may wait for a signal.
  absl::Duration NextWait() const;

  Reporter* const reporter_;
  SignalChannel& channel_;
  const pid_t child_;
  Reaper reaper_;
  Escalation escalation_;
  std::bitset<NSIG> forwarded_;
};

std::optional<int> Relay::Run() {
  for (;;) {
    reaper_.Poll();
    if (reaper_.exit_status()) return reaper_.exit_status();
    if (reaper_.lost()) return std::nullopt;
    if (escalation_.KillAfterDue(Clock::now())) {
      SendToGroup(SIGKILL);
      if (reporter_ != nullptr) {
        std::fprintf(stderr, "sigwatch: --kill-after elapsed: SIGKILL\n");
      }
    }
    std::optional<Delivery> received = channel_.ReceiveDeliveryFor(NextWait());
    if (received) Handle(*received);
  }
}

absl::Duration Relay::NextWait() const {
  std::optional<Clock::time_point> deadline = escalation_.kill_deadline();
  if (!deadline) return kBackstop;
  absl::Duration left = absl::FromChrono(*deadline - Clock::now());
  return std::clamp(left, absl::ZeroDuration(), kBackstop);
}

void Relay::Handle(const Delivery& delivery) {
  const int signo = delivery.signal.number();
  // The loop's next Poll reaps.
  if (signo == SIGCHLD) return;
  if (delivery.has_sender() && delivery.sender_pid == getpid()) {
    Report(delivery, "ignore");
    return;
  }
  if (!forwarded_[signo]) {
    Report(delivery, "ignore");
    return;
  }
  if (IsInterrupt(signo)) {
    HandleInterrupt(delivery);
    return;
  }
  // The kernel queues every occurrence of a real-time signal (a standard
  // one is pending or not): as many are forwarded as were counted.
  const uint64_t copies = signo >= SIGRTMIN ? delivery.occurrences : 1;
  for (uint64_t i = 0; i < copies; ++i) SendToGroup(signo);
  Report(delivery, "forward");
}

void Relay::HandleInterrupt(const Delivery& delivery) {
  const int signo = delivery.signal.number();
  Escalation::Decision decision =
      escalation_.OnSignal(signo, delivery.occurrences, Clock::now());
  if (decision.forward) SendToGroup(signo);
  if (decision.kill) SendToGroup(SIGKILL);
  Report(delivery, decision.kill ? "kill" : "forward");
}

void Relay::CleanUp() {
  // A stopped process would only see the SIGTERM once continued.
  SendToGroup(SIGTERM);
  SendToGroup(SIGCONT);
  reaper_.Poll();
}

}  // namespace

int RunRelay(const RelayOptions& options, Reporter* reporter) {
  const std::vector<Signal> caught = RelayCaughtSignals();
  std::vector<int> numbers;
  for (const Signal& signal : caught) numbers.push_back(signal.number());
  // Before Notify, which replaces them.
  const IgnoredSet ignored = RecordIgnored(numbers);

  if (options.subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::fprintf(stderr, "sigwatch: --subreaper: %s\n", std::strerror(errno));
    return 1;
  }
  // Subscribed before fork, so a child that exits at once still wakes the
  // loop and no signal meanwhile can end sigwatch.
  SignalChannel channel(options.buffer);
  if (absl::Status status = Notify(channel, caught); !status.ok()) {
    std::fprintf(stderr, "sigwatch: %s\n", status.ToString().c_str());
    return 1;
  }
  absl::StatusOr<Spawned> spawned =
      SpawnInOwnGroup(options.command, numbers, ignored);
  if (!spawned.ok()) {
    std::fprintf(stderr, "sigwatch: %s\n", spawned.status().ToString().c_str());
    return 1;
  }
  if (spawned->exec_error != 0) {
    std::fprintf(stderr, "sigwatch: cannot run \"%s\": %s\n",
                 options.command[0].c_str(),
                 std::strerror(spawned->exec_error));
    return spawned->exec_error == ENOENT ? 127 : 126;
  }
  if (reporter != nullptr) {
    const bool all = options.forwarded == DefaultForwardedSignals();
    std::fprintf(stderr, "sigwatch: relaying %s pid=%d child=%d backend=%s\n",
                 all ? "all" : JoinSignalNames(options.forwarded).c_str(),
                 static_cast<int>(getpid()), static_cast<int>(spawned->pid),
                 options.backend.c_str());
    std::fflush(stderr);
  }

  Relay relay(options, reporter, channel, spawned->pid);
  std::optional<int> status = relay.Run();
  relay.CleanUp();
  if (!status) {
    std::fprintf(stderr, "sigwatch: waitpid: %s\n", std::strerror(ECHILD));
  }
  Summary summary = FinishWatching(
      channel, caught,
      status && WIFSIGNALED(*status) ? "child-signaled" : "child-exited");
  summary.exit_code = status ? ExitStatusOf(*status) : 1;
  if (reporter != nullptr) reporter->PrintSummary(summary);
  return *summary.exit_code;
}

}  // namespace sigwatch
}  // namespace portsig
