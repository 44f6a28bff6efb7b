// sigwatch: shows which signals reach a process, through portsig, or
// relays them to a command as a container's init would.
//
//   sigwatch [--signals=HUP,INT,...] [--format=text|json] [--count=N]
//            [--timeout=10s] [--backend=posix|note] [--buffer=64]
//   sigwatch --relay [--signals=...] [--grace=5s] [--kill-after=D]
//            [--subreaper] [--verbose] -- CMD ARGS...
//
// Watch mode prints one line per delivery on stdout and a summary at exit
// (see watch.h, reporter.h), after a ready line on stderr once signals are
// being caught:
//   sigwatch: watching SIGHUP,SIGINT,... pid=1234 backend=posix
// Relay mode runs CMD in its own process group, forwards signals to it and
// exits with its status (see relay.h). It prints nothing but errors unless
// --verbose, which adds the ready line, one line per signal and the summary,
// all on stderr so CMD's stdout stays the command's own.
//
// Exit status: see kExitStatusHelp below (also in --help). Bad input exits
// 2 with one line on stderr naming the value.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/internal/program_name.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "os_signal/signal.h"
#include "tools/flag_checks.h"
#include "tools/relay.h"
#include "tools/relay_signals.h"
#include "tools/reporter.h"
#include "tools/signal_list.h"
#include "tools/watch.h"

ABSL_FLAG(std::string, signals, "",
          "Comma-separated signals: names (SIGINT, INT, int), numbers (2), "
          "note names (interrupt), SIGRTMIN+N. Watch mode: the signals to "
          "watch (default HUP,INT,QUIT,USR1,USR2,TERM,WINCH). Relay mode: "
          "the signals to forward (default: every signal but CHLD); others "
          "are caught and dropped.");
ABSL_FLAG(std::string, format, "text",
          "Output format: text (one line per delivery) or json (one JSON "
          "object per line).");
ABSL_FLAG(int64_t, count, 0,
          "Watch mode: exit after this many deliveries (0: no limit). Exit "
          "status 1 if the run ends before reaching it.");
ABSL_FLAG(absl::Duration, timeout, absl::InfiniteDuration(),
          "Watch mode: exit after this long, e.g. 10s or 1m; 0 reports the "
          "signals already pending and exits.");
ABSL_FLAG(std::string, backend, "",
          "Signal-queue backend for this run: posix or note. Default: "
          "$PORTSIG_SIGQUEUE, else the build default.");
ABSL_FLAG(std::optional<int64_t>, buffer, std::nullopt,
          "Capacity of the channel; deliveries that find it full are "
          "dropped and counted in the summary. Default: 64 in watch mode, "
          "4096 in relay mode.");
ABSL_FLAG(bool, relay, false,
          "Run the command after -- in its own process group, forward "
          "signals to it and exit with its status.");
ABSL_FLAG(absl::Duration, grace, absl::Seconds(5),
          "Relay mode: the same INT or TERM received twice within this long "
          "sends SIGKILL to the command's group instead (0: never). A "
          "repeat within 100ms of the first is the same request sent twice "
          "(as GNU timeout does) and is dropped.");
ABSL_FLAG(absl::Duration, kill_after, absl::ZeroDuration(),
          "Relay mode: send SIGKILL to the command's group this long after "
          "the first INT or TERM was forwarded, if it still runs, like "
          "timeout -k (0: never).");
ABSL_FLAG(bool, subreaper, false,
          "Relay mode: become a child subreaper (PR_SET_CHILD_SUBREAPER), so "
          "orphans of the command are reaped by sigwatch. Always so as PID "
          "1.");
ABSL_FLAG(bool, verbose, false,
          "Relay mode: print a ready line, one line per signal received and "
          "a summary on stderr (default: errors only).");

namespace portsig {
namespace sigwatch {
namespace {

constexpr int kUsageError = 2;
constexpr int kWatchBuffer = 64;
constexpr int kRelayBuffer = 4096;

constexpr char kWatchDefaultSignals[] = "HUP,INT,QUIT,USR1,USR2,TERM,WINCH";

constexpr char kExitStatusHelp[] =
    "Exit status, relay mode: the command's own; 128+N if signal N ended it "
    "(137 after SIGKILL from --grace or --kill-after); 127 if the command "
    "was not found, 126 if it could not be run; 1 if sigwatch itself "
    "failed; 2 for bad usage (one line on stderr).\n"
    "Exit status, watch mode: 0; 1 if --count was given and not reached, "
    "signals could not be caught, or stdout could not be written (with "
    "SIGPIPE at its default action, a reader that leaves kills sigwatch, "
    "141); 2 for bad usage.\n"
    "Flags Abseil rejects (unknown flags, unparsable numbers or durations) "
    "exit 1. --help (or -h) prints this and exits 0.\n";

constexpr char kRelayHelp[] =
    "Relay mode forwards every signal but CHLD to the command's process "
    "group; no signal sent to sigwatch ends it while the command runs. It "
    "reaps orphans as PID 1 or with --subreaper.\n"
    "Terminal: when stdin is sigwatch's controlling terminal and sigwatch is "
    "in its foreground, the command's group gets the foreground, and "
    "sigwatch takes it back when the command exits.\n"
    "Job control (as dumb-init): TSTP, TTIN or TTOU sent to sigwatch is "
    "forwarded to the command's group, then sigwatch stops itself; CONT "
    "resumes sigwatch and then the group. A command that stops by itself "
    "(Ctrl-Z at the terminal, TTIN when it reads from the background) stops "
    "sigwatch's group too when a job-control shell can resume it; else a "
    "command stopped by TSTP is resumed, and one stopped otherwise is "
    "reported on stderr (CONT to sigwatch resumes it).\n";

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

// Flags both modes use, checked.
struct Common {
  Format format;
  size_t buffer;
  std::string backend;
  std::chrono::steady_clock::time_point start;
};

absl::StatusOr<size_t> BufferFor(bool relay) {
  const std::optional<int64_t> buffer = absl::GetFlag(FLAGS_buffer);
  if (!buffer) return relay ? kRelayBuffer : kWatchBuffer;
  return CheckBuffer(*buffer);
}

// Relay-only flags given in watch mode, or the reverse: the first one.
std::optional<std::string> MisplacedFlag(bool relay) {
  if (relay) {
    if (absl::GetFlag(FLAGS_count) != 0) return "--count";
    if (absl::GetFlag(FLAGS_timeout) != absl::InfiniteDuration()) {
      return "--timeout";
    }
    return std::nullopt;
  }
  if (absl::GetFlag(FLAGS_grace) != absl::Seconds(5)) return "--grace";
  if (absl::GetFlag(FLAGS_kill_after) != absl::ZeroDuration()) {
    return "--kill-after";
  }
  if (absl::GetFlag(FLAGS_subreaper)) return "--subreaper";
  if (absl::GetFlag(FLAGS_verbose)) return "--verbose";
  return std::nullopt;
}

int WatchMode(const Common& common, const std::vector<std::string>& command) {
  if (!command.empty()) {
    return UsageError(absl::StrCat("unexpected argument \"", command[0],
                                   "\" (a command needs --relay)"));
  }
  if (std::optional<std::string> flag = MisplacedFlag(false)) {
    return UsageError(*flag + " applies to relay mode (--relay)");
  }
  std::string list = absl::GetFlag(FLAGS_signals);
  absl::StatusOr<std::vector<Signal>> signals =
      ParseSignalList(list.empty() ? kWatchDefaultSignals : list);
  if (!signals.ok()) return UsageError(signals.status().message());
  WatchOptions options;
  options.signals = *signals;
  options.count = absl::GetFlag(FLAGS_count);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  options.buffer = common.buffer;
  options.backend = common.backend;
  if (absl::Status s = CheckCount(options.count); !s.ok()) {
    return UsageError(s.message());
  }
  if (absl::Status s = CheckDuration("timeout", options.timeout); !s.ok()) {
    return UsageError(s.message());
  }
  Reporter reporter(common.format, common.backend, options.signals,
                    common.start, stdout);
  return RunWatch(options, reporter);
}

int RelayMode(const Common& common, const std::vector<std::string>& command) {
  if (command.empty()) {
    return UsageError("--relay needs a command: sigwatch --relay -- CMD ARGS");
  }
  if (std::optional<std::string> flag = MisplacedFlag(true)) {
    return UsageError(*flag +
                      " applies to watch mode; in relay mode sigwatch exits "
                      "when the command does");
  }
  RelayOptions options;
  const std::string list = absl::GetFlag(FLAGS_signals);
  if (list.empty()) {
    options.forwarded = DefaultForwardedSignals();
  } else {
    absl::StatusOr<std::vector<Signal>> signals = ParseSignalList(list);
    if (!signals.ok()) return UsageError(signals.status().message());
    if (Contains(*signals, SIGCHLD)) {
      return UsageError(
          "--signals: SIGCHLD cannot be relayed; relay mode uses it to reap "
          "the command");
    }
    options.forwarded = *signals;
  }
  options.grace = absl::GetFlag(FLAGS_grace);
  options.kill_after = absl::GetFlag(FLAGS_kill_after);
  options.subreaper = absl::GetFlag(FLAGS_subreaper);
  options.command = command;
  options.buffer = common.buffer;
  options.backend = common.backend;
  if (absl::Status s = CheckDuration("grace", options.grace); !s.ok()) {
    return UsageError(s.message());
  }
  if (absl::Status s = CheckDuration("kill-after", options.kill_after);
      !s.ok()) {
    return UsageError(s.message());
  }
  if (!absl::GetFlag(FLAGS_verbose)) return RunRelay(options, nullptr);
  Reporter reporter(common.format, common.backend, options.forwarded,
                    common.start, stderr);
  reporter.OmitUndeliveredFromSummary();
  return RunRelay(options, &reporter);
}

// Whether `arg` (a "-name" or "--name", no "=value") names a flag that
// takes its value from the next argument, as `--signals HUP` does.
bool TakesNextArgument(absl::string_view arg) {
  absl::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && !flag->IsOfType<bool>();
}

// Whether sigwatch's own flags (before the command) include --help or -h.
bool AsksForHelp(const std::vector<char*>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (std::strcmp(args[i], "--") == 0) return false;
    if (std::strcmp(args[i], "--help") == 0 ||
        std::strcmp(args[i], "-help") == 0 || std::strcmp(args[i], "-h") == 0) {
      return true;
    }
  }
  return false;
}

// Whether the last --signals before the command has an empty value
// (`--signals=`, `--signals ""`, as `--signals="$LIST"` with LIST unset
// gives): Abseil cannot tell that from no --signals at all, and sigwatch
// would then watch, or forward, its defaults rather than refuse it. `args`
// as NormalizeArgs returns them.
bool SignalsGivenEmpty(const std::vector<char*>& args) {
  std::optional<bool> empty;
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    absl::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = name.find('=');
    if (equals != absl::string_view::npos) {
      if (name.substr(0, equals) == "signals") {
        empty = equals + 1 == name.size();
      }
      continue;
    }
    if (!TakesNextArgument(arg) || i + 1 >= args.size()) continue;
    ++i;
    if (name == "signals") empty = args[i][0] == '\0';
  }
  return empty.value_or(false);
}

// Rewrites argv for absl::ParseCommandLine. Two things:
// - The command starts at the first argument that is not a flag, "--" or
//   not: `sigwatch --relay sh -c 'exit 3'` runs `sh -c 'exit 3'`, as
//   `dumb-init sh -c ...` does (getopt's "+"), where Abseil, which reads
//   flags after positional arguments too, would reject "-c". A "--" is
//   inserted before it.
// - Abseil flag names are identifiers; --kill-after stands for
//   --kill_after. Only sigwatch's own flags are rewritten, never the
//   command's arguments, and in copies: argv itself is what ps and
//   /proc/PID/cmdline show, and `pgrep -f -- --kill-after=` must find what
//   was typed.
// The result points into argv and into static storage.
std::vector<char*> NormalizeArgs(int argc, char** argv) {
  static char double_dash[] = "--";
  // A deque: its elements stay where they are as it grows.
  static std::deque<std::string> rewritten;
  std::vector<char*> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    char* arg = args[i];
    if (std::strcmp(arg, "--") == 0) break;
    if (arg[0] != '-' || arg[1] == '\0') {
      args.insert(args.begin() + i, double_dash);
      break;
    }
    const size_t dashes = arg[1] == '-' ? 2 : 1;
    const size_t name_end = std::strcspn(arg, "=");
    if (std::memchr(arg + dashes, '-', name_end - dashes) != nullptr) {
      std::string copy(arg);
      std::replace(copy.begin() + dashes, copy.begin() + name_end, '-', '_');
      // Only a name that then is one of sigwatch's flags: an unknown one
      // is named in Abseil's error as typed (--time-out, not time_out).
      if (absl::FindCommandLineFlag(absl::string_view(copy).substr(
              dashes, name_end - dashes)) != nullptr) {
        args[i] = arg = rewritten.emplace_back(std::move(copy)).data();
      }
    }
    if (std::strchr(arg, '=') == nullptr && TakesNextArgument(arg)) ++i;
  }
  return args;
}

int Main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  absl::SetProgramUsageMessage(absl::StrCat(
      "shows which signals reach this process, or relays them to a "
      "command.\n"
      "  sigwatch [--signals=HUP,INT] [--format=text|json] [--count=N] "
      "[--timeout=10s]\n"
      "  sigwatch --relay [--signals=...] [--grace=5s] [--kill-after=D] "
      "[--subreaper] [--verbose] -- CMD ARGS...\n"
      "Relay mode is meant for a container's PID 1: ENTRYPOINT "
      "[\"sigwatch\", \"--relay\", \"--\"]. Without \"--\", the command "
      "starts at the first argument that is not a flag of sigwatch's.\n",
      kRelayHelp, kExitStatusHelp));
  std::vector<char*> args = NormalizeArgs(argc, argv);
  if (AsksForHelp(args)) {
    // Abseil 20220623 (Debian's) prints --help and exits 1; asking for help
    // is not a failure, and tini and dumb-init exit 0. The same text, from
    // Abseil's own formatter, for sigwatch's flags.
    absl::flags_internal::SetProgramInvocationName(argv[0]);
    absl::flags_internal::FlagsHelp(
        std::cout, "tools/sigwatch",
        absl::flags_internal::HelpFormat::kHumanReadable,
        absl::ProgramUsageMessage());
    // Help that could not be written (a full disk) is a failure, as for
    // any output (watch.h).
    errno = 0;
    if (!std::cout.flush()) {
      std::fprintf(stderr, "sigwatch: writing stdout: %s\n",
                   std::strerror(errno != 0 ? errno : EIO));
      return 1;
    }
    return 0;
  }
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  std::vector<std::string> command(positional.begin() + 1, positional.end());
  const bool relay = absl::GetFlag(FLAGS_relay);
  if (SignalsGivenEmpty(args)) {
    return UsageError(ParseSignalList("").status().message());
  }

  if (absl::Status s = SelectBackend(absl::GetFlag(FLAGS_backend)); !s.ok()) {
    return UsageError(s.message());
  }
  absl::StatusOr<Format> format = ParseFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return UsageError(format.status().message());
  absl::StatusOr<size_t> buffer = BufferFor(relay);
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
  Common common{*format, *buffer, *backend, start};
  return relay ? RelayMode(common, command) : WatchMode(common, command);
}

}  // namespace
}  // namespace sigwatch
}  // namespace portsig

int main(int argc, char** argv) { return portsig::sigwatch::Main(argc, argv); }
