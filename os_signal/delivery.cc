#include "os_signal/delivery.h"

#include "absl/strings/str_cat.h"
#include "platform/signal_record.h"

namespace portsig {

bool Delivery::has_sender() const {
  if (signal.is_note()) return true;
  return platform::CodeHasSender(signal.number(), code);
}

std::string Delivery::CodeName() const {
  if (signal.is_note()) return "note";
  switch (code) {
    case SI_USER:
      return "kill";
    case SI_QUEUE:
      return "sigqueue";
    case SI_TKILL:
      return "tkill";
    case SI_KERNEL:
      return "kernel";
    case SI_TIMER:
      return "timer";
    case SI_MESGQ:
      return "mesgq";
    case SI_ASYNCIO:
      return "asyncio";
    case SI_SIGIO:
      return "sigio";
  }
  if (signal.number() == SIGCHLD) {
    switch (code) {
      case CLD_EXITED:
        return "exited";
      case CLD_KILLED:
        return "killed";
      case CLD_DUMPED:
        return "dumped";
      case CLD_TRAPPED:
        return "trapped";
      case CLD_STOPPED:
        return "stopped";
      case CLD_CONTINUED:
        return "continued";
    }
  }
  return absl::StrCat("code ", code);
}

std::string Delivery::ToString() const {
  std::string line = signal.ToString();
  if (has_sender()) {
    absl::StrAppend(&line, " from pid ", sender_pid, " uid ", sender_uid);
  }
  absl::StrAppend(&line, " (", CodeName(), ")");
  if (value.has_value()) absl::StrAppend(&line, " value ", value->sival_int);
  if (occurrences != 1) absl::StrAppend(&line, " x", occurrences);
  return line;
}

}  // namespace portsig
