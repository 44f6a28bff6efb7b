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
#include "tools/background_writes.h"
#include "tools/escalation.h"
#include "tools/finish.h"
#include "tools/job_control.h"
#include "tools/reaper.h"
#include "tools/relay_signals.h"
#include "tools/signal_list.h"
#include "tools/spawn.h"
#include "tools/terminal.h"

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
        const Terminal& terminal, pid_t child)
      : reporter_(reporter),
        channel_(channel),
        terminal_(terminal),
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

  // After Run: takes the terminal back, signals what is left of the
  // command's group; reaps what has already ended.
  void CleanUp();

 private:
  void Handle(const Delivery& delivery);
  void HandleInterrupt(const Delivery& delivery);
  // SIGTSTP, SIGTTIN or SIGTTOU sent to sigwatch (see job_control.h).
  void HandleStopRequest(const Delivery& delivery);
  // The command stopped with `status`.
  void OnCommandStopped(int status);
  // The command's group gets the terminal back if sigwatch has it, then
  // SIGCONT.
  void Resume();
  void SendToGroup(int signo) { kill(-child_, signo); }
  void Report(const Delivery& delivery, absl::string_view action) {
    if (reporter_ != nullptr) reporter_->Report(delivery, action);
  }
  // How long the loop may wait for a signal.
  absl::Duration NextWait() const;

  Reporter* const reporter_;
  SignalChannel& channel_;
  const Terminal& terminal_;
  const pid_t child_;
  // The command's group was stopped by a stop sigwatch forwarded or
  // mirrored, and no SIGCONT came since: its stop reports are expected.
  bool held_stopped_ = false;
  Reaper reaper_;
  Escalation escalation_;
  std::bitset<NSIG> forwarded_;
};

std::optional<int> Relay::Run() {
  for (;;) {
    for (const Reaper::Event& event : reaper_.Poll()) {
      if (event.kind == Reaper::Event::kStopped) OnCommandStopped(event.status);
    }
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
  if (IsStopRequest(signo)) {
    HandleStopRequest(delivery);
    return;
  }
  if (signo == SIGCONT) {
    Resume();
    Report(delivery, "forward");
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
  Report(delivery, decision.kill      ? "kill"
                   : decision.forward ? "forward"
                                      : "ignore");
}

void Relay::HandleStopRequest(const Delivery& delivery) {
  SendToGroup(delivery.signal.number());
  held_stopped_ = true;
  Report(delivery, "stop");
  // Returns once continued, with the SIGCONT delivery waiting in the
  // channel: the loop then resumes the command.
  StopSelf();
}

void Relay::OnCommandStopped(int status) {
  const int signo = WSTOPSIG(status);
  switch (ReactToStop(signo, held_stopped_, UnderJobControl())) {
    case StopReaction::kNone:
      return;
    case StopReaction::kStopOwnGroup:
      if (reporter_ != nullptr) {
        std::fprintf(stderr, "sigwatch: command stopped by %s: stopping\n",
                     Signal(signo).ToString().c_str());
      }
      held_stopped_ = true;
      StopOwnGroup();
      return;
    case StopReaction::kResume:
      if (reporter_ != nullptr) {
        std::fprintf(stderr,
                     "sigwatch: command stopped by %s with no job control "
                     "to resume it: SIGCONT\n",
                     Signal(signo).ToString().c_str());
      }
      Resume();
      return;
    case StopReaction::kWarn:
      // Said even when quiet: the command is stuck until someone acts.
      std::fprintf(stderr,
                   "sigwatch: command stopped by %s; SIGCONT to sigwatch "
                   "(pid %d) resumes it\n",
                   Signal(signo).ToString().c_str(),
                   static_cast<int>(getpid()));
      held_stopped_ = true;
      return;
  }
}

void Relay::Resume() {
  terminal_.GiveTo(child_);
  held_stopped_ = false;
  SendToGroup(SIGCONT);
}

void Relay::CleanUp() {
  terminal_.TakeBackFrom(child_);
  // A stopped process would only see the SIGTERM once continued.
  SendToGroup(SIGTERM);
  SendToGroup(SIGCONT);
  reaper_.Poll();
}

}  // namespace

int RunRelay(const RelayOptions& options, Reporter* reporter) {
  // Before anything is written; the command starts with the mask from
  // before.
  const sigset_t command_mask = BlockTtouForOwnWrites();
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
  const Terminal terminal = Terminal::Open();
  absl::StatusOr<Spawned> spawned = SpawnInOwnGroup(
      options.command, numbers, ignored, command_mask, terminal.ForegroundFd());
  if (!spawned.ok()) {
    std::fprintf(stderr, "sigwatch: %s\n", spawned.status().ToString().c_str());
    return 1;
  }
  if (spawned->exec_error != 0) {
    terminal.TakeBackFrom(spawned->pid);
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

  Relay relay(options, reporter, channel, terminal, spawned->pid);
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
