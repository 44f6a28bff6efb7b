// sigwatch: shows which signals reach a process, through portsig.
//
//   sigwatch [--signals=HUP,INT,...] [--format=text|json] [--count=N]
//            [--timeout=10s] [--backend=posix|note] [--buffer=64]
//   sigwatch --relay [--signals=...] [--grace=5s] -- CMD ARGS...
//
// Watch mode prints one line per delivery on stdout and a summary at exit
// (see watch.h, reporter.h). Relay mode runs CMD in its own process group,
// forwards the watched signals to it and exits with its status; its lines go
// to stderr so CMD's stdout stays the command's own (see relay.h). Both
// print a ready line on stderr once signals are being caught:
//   sigwatch: watching SIGHUP,SIGINT,... pid=1234 backend=posix
//
// Exit status: 2 for bad input (unknown or uncatchable signal, bad --format
// or --backend, a negative --buffer, --count, --timeout or --grace, missing
// command), with one line on stderr naming the value; otherwise as
// described in watch.h and relay.h. Flags that Abseil itself rejects
// (unknown flags, unparsable numbers or durations) exit 1, as Abseil does.
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "os_signal/signal.h"
#include "tools/flag_checks.h"
#include "tools/relay.h"
#include "tools/reporter.h"
#include "tools/signal_list.h"
#include "tools/watch.h"

ABSL_FLAG(std::string, signals, "HUP,INT,QUIT,USR1,USR2,TERM,WINCH",
          "Comma-separated signals to watch: names (SIGINT, INT, int), "
          "numbers (2), note names (interrupt), SIGRTMIN+N.");
ABSL_FLAG(std::string, format, "text",
          "Output format: text (one line per delivery) or json (one JSON "
          "object per line).");
ABSL_FLAG(int64_t, count, 0,
          "Watch mode: exit after this many deliveries (0: no limit). Exit "
          "status 1 if the run ends before reaching it.");
ABSL_FLAG(absl::Duration, timeout, absl::InfiniteDuration(),
          "Watch mode: exit after this long, e.g. 10s or 1m.");
ABSL_FLAG(std::string, backend, "",
          "Signal-queue backend for this run: posix or note. Default: "
          "$PORTSIG_SIGQUEUE, else the build default.");
ABSL_FLAG(int64_t, buffer, 64,
          "Capacity of the channel; deliveries that find it full are "
          "dropped and counted in the summary.");
ABSL_FLAG(bool, relay, false,
          "Run the command after -- in its own process group and forward "
          "the watched signals (plus INT and TERM) to it.");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(5),
          "Relay mode: a second INT/TERM within this long of the previous "
          "one sends SIGKILL to the command's group (0: never).");

namespace portsig {
namespace sigwatch {
namespace {

constexpr int kUsageError = 2;

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "sigwatch: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return kUsageError;
}

// Must run before any portsig call that starts the runtime: the backend is
// fixed at first use.
absl::Status SelectBackend(const std::string& backend) {
  if (absl::Status valid = CheckBackend(backend); !valid.ok()) return valid;
  if (backend.empty()) return absl::OkStatus();
  Options options;
  options.sigqueue = backend == "note" ? SigQueue::kNote : SigQueue::kPosix;
  return Configure(options);
}

int Main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  absl::SetProgramUsageMessage(
      "shows which signals reach this process, or relays them to a "
      "command.\n"
      "  sigwatch [--signals=HUP,INT] [--format=text|json] [--count=N] "
      "[--timeout=10s]\n"
      "  sigwatch --relay [--signals=...] [--grace=5s] -- CMD ARGS...");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> command(positional.begin() + 1, positional.end());
  const bool relay = absl::GetFlag(FLAGS_relay);

  if (absl::Status s = SelectBackend(absl::GetFlag(FLAGS_backend)); !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Format> format = ParseFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return UsageError(format.status().message());
  absl::StatusOr<std::vector<Signal>> signals =
      ParseSignalList(absl::GetFlag(FLAGS_signals));
  if (!signals.ok()) return UsageError(signals.status().message());
  absl::StatusOr<size_t> buffer = CheckBuffer(absl::GetFlag(FLAGS_buffer));
  if (!buffer.ok()) return UsageError(buffer.status().message());

  // A malformed PORTSIG_* variable is ignored by the library; say so, and
  // run on the backend it chose.
  absl::StatusOr<std::string> backend = Backend();
  if (!backend.ok()) {
    std::fprintf(stderr, "sigwatch: warning: %s\n",
                 std::string(backend.status().message()).c_str());
    backend = std::string(
        CurrentOptions().sigqueue == SigQueue::kNote ? "note" : "posix");
  }

  if (!relay) {
    if (!command.empty()) {
      return UsageError(absl::StrCat("unexpected argument \"", command[0],
                                     "\" (a command needs --relay)"));
    }
    WatchOptions options;
    options.signals = *signals;
    options.count = absl::GetFlag(FLAGS_count);
    options.timeout = absl::GetFlag(FLAGS_timeout);
    options.buffer = *buffer;
    options.backend = *backend;
    if (absl::Status s = CheckCount(options.count); !s.ok()) {
      return UsageError(s.message());
    }
    if (absl::Status s = CheckDuration("timeout", options.timeout); !s.ok()) {
      return UsageError(s.message());
    }
    Reporter reporter(*format, *backend, options.signals, start, stdout);
    return RunWatch(options, reporter);
  }

  if (command.empty()) {
    return UsageError("--relay needs a command: sigwatch --relay -- CMD ARGS");
  }
  if (Contains(*signals, SIGCHLD)) {
    return UsageError(
        "--signals: SIGCHLD cannot be relayed; relay mode uses it to reap "
        "the command");
  }
  if (absl::GetFlag(FLAGS_count) != 0 ||
      absl::GetFlag(FLAGS_timeout) != absl::InfiniteDuration()) {
    return UsageError(
        "--count and --timeout apply to watch mode; in relay mode sigwatch "
        "exits when the command does");
  }
  RelayOptions options;
  options.signals = *signals;
  for (int signo : {SIGINT, SIGTERM}) {
    if (!Contains(options.signals, signo)) options.signals.push_back(signo);
  }
  options.grace = absl::GetFlag(FLAGS_grace);
  options.command = command;
  options.buffer = *buffer;
  options.backend = *backend;
  if (absl::Status s = CheckDuration("grace", options.grace); !s.ok()) {
    return UsageError(s.message());
  }
  Reporter reporter(*format, *backend, options.signals, start, stderr);
  return RunRelay(options, reporter);
}

}  // namespace
}  // namespace sigwatch
}  // namespace portsig

int main(int argc, char** argv) { return portsig::sigwatch::Main(argc, argv); }
