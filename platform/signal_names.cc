#include "platform/signal_names.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace portsig {
namespace platform {
namespace {

struct NamedSignal {
  int signo;
  const char* name;  // without "SIG"
  const char* note;
};

constexpr NamedSignal kNamedSignals[] = {
    {SIGHUP, "HUP", "hangup"},
    {SIGINT, "INT", "interrupt"},
    {SIGQUIT, "QUIT", "quit"},
    {SIGILL, "ILL", "ill"},
    {SIGTRAP, "TRAP", "trap"},
    {SIGABRT, "ABRT", "abort"},
    {SIGBUS, "BUS", "bus"},
    {SIGFPE, "FPE", "fpe"},
    {SIGKILL, "KILL", "kill"},
    {SIGUSR1, "USR1", "usr1"},
    {SIGSEGV, "SEGV", "segv"},
    {SIGUSR2, "USR2", "usr2"},
    {SIGPIPE, "PIPE", "pipe"},
    {SIGALRM, "ALRM", "alarm"},
    {SIGTERM, "TERM", "term"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "STKFLT", "stkflt"},
#endif
    {SIGCHLD, "CHLD", "child"},
    {SIGCONT, "CONT", "cont"},
    {SIGSTOP, "STOP", "stop"},
    {SIGTSTP, "TSTP", "tstp"},
    {SIGTTIN, "TTIN", "ttin"},
    {SIGTTOU, "TTOU", "ttou"},
    {SIGURG, "URG", "urg"},
    {SIGXCPU, "XCPU", "xcpu"},
    {SIGXFSZ, "XFSZ", "xfsz"},
    {SIGVTALRM, "VTALRM", "vtalarm"},
    {SIGPROF, "PROF", "prof"},
    {SIGWINCH, "WINCH", "winch"},
    {SIGIO, "IO", "io"},
#ifdef SIGPWR
    {SIGPWR, "PWR", "pwr"},
#endif
    {SIGSYS, "SYS", "sys"},
};

// Filled before main from kNamedSignals and the real-time range, so lookups
// by number inside a signal handler only read memory.
struct NameTable {
  char name[NSIG][16] = {};
  char note[NSIG][16] = {};
  NameTable() {
    for (int s = 1; s < NSIG; ++s) {
      std::snprintf(name[s], sizeof(name[s]), "SIG%d", s);
    }
    for (const NamedSignal& n : kNamedSignals) {
      std::snprintf(name[n.signo], sizeof(name[n.signo]), "SIG%s", n.name);
      std::snprintf(note[n.signo], sizeof(note[n.signo]), "%s", n.note);
    }
#ifdef SIGRTMIN
    for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) {
      std::snprintf(name[s], sizeof(name[s]), "SIGRTMIN+%d", s - SIGRTMIN);
      std::snprintf(note[s], sizeof(note[s]), "rtmin+%d", s - SIGRTMIN);
    }
    std::snprintf(name[SIGRTMAX], sizeof(name[SIGRTMAX]), "SIGRTMAX");
#endif
  }
};

const NameTable& Table() {
  static const NameTable* table = new NameTable();
  return *table;
}

// Forces the table into existence during static initialization.
[[maybe_unused]] const NameTable& kTableAtStartup = Table();

// Parses "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (already upper case), N
// one or more decimal digits and nothing else: absl::SimpleAtoi alone also
// skips whitespace and takes a sign, which let "RTMIN+ 3", "RTMIN++3" and
// "RTMAX--0" through.
int RealTimeFromName(absl::string_view name) {
#ifdef SIGRTMIN
  int base;
  int sign;
  if (absl::ConsumePrefix(&name, "RTMIN")) {
    base = SIGRTMIN;
    sign = 1;
  } else if (absl::ConsumePrefix(&name, "RTMAX")) {
    base = SIGRTMAX;
    sign = -1;
  } else {
    return 0;
  }
  int offset = 0;
  if (!name.empty()) {
    if (!absl::ConsumePrefix(&name, sign > 0 ? "+" : "-")) return 0;
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) ||
        !absl::SimpleAtoi(name, &offset)) {
      return 0;  // Not digits only, or too many for an int.
    }
  }
  // Checked before the arithmetic: "RTMIN+2147483647" would overflow int.
  if (offset > SIGRTMAX - SIGRTMIN) return 0;
  return base + sign * offset;
#else
  (void)name;
  return 0;
#endif
}

}  // namespace

const char* SignalName(int signo) {
  if (signo < 1 || signo > kMaxSignal) return nullptr;
  return Table().name[signo];
}

const char* SignalNoteName(int signo) {
  if (signo < 1 || signo > kMaxSignal) return nullptr;
  const char* note = Table().note[signo];
  return note[0] == '\0' ? nullptr : note;
}

int SignalFromName(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  absl::string_view bare = upper;
  absl::ConsumePrefix(&bare, "SIG");
  if (bare.empty()) return 0;
  for (const NamedSignal& n : kNamedSignals) {
    if (bare == n.name) return n.signo;
  }
  // Common aliases.
  if (bare == "IOT") return SIGABRT;
  if (bare == "CLD") return SIGCHLD;
  if (bare == "POLL") return SIGIO;
  return RealTimeFromName(bare);
}

int SignalFromNoteName(absl::string_view note) {
  if (note.empty() || note.size() >= 16) return 0;
  const NameTable& table = Table();
  for (int s = 1; s < NSIG; ++s) {
    if (note == table.note[s]) return s;
  }
  return 0;
}

bool IsReservedSignal(int signo) {
#if defined(__GLIBC__) && defined(SIGRTMIN)
  // glibc keeps __SIGRTMIN..SIGRTMIN-1 (32, 33) for threads and setxid.
  return signo >= __SIGRTMIN && signo < SIGRTMIN;
#else
  (void)signo;
  return false;
#endif
}

bool IsSynchronousSignal(int signo) {
  for (int synchronous : kSynchronousSignals) {
    if (signo == synchronous) return true;
  }
  return false;
}

}  // namespace platform
}  // namespace portsig
