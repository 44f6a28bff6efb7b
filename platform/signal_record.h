// SignalRecord: what the kernel told the handler about one occurrence of a
// signal (who sent it, how, and the sigqueue value), in a form a signal
// handler can copy without locks or allocation.
//
// pid and uid are the sender's for signals a process sent (kill, sigqueue,
// tgkill) and the child's for SIGCHLD; zero when the kernel gives none. The
// value is set only for sources that carry one (sigqueue, POSIX timers,
// message queues).
#ifndef PORTSIG_PLATFORM_SIGNAL_RECORD_H_
#define PORTSIG_PLATFORM_SIGNAL_RECORD_H_

#include <signal.h>

#include <cstdint>

namespace portsig {
namespace platform {

struct SignalRecord {
  int32_t code = SI_USER;  // siginfo's si_code.
  int32_t pid = 0;
  uint32_t uid = 0;
  bool has_value = false;
  intptr_t value = 0;  // sigval, as the integer or pointer bits.
};

// True when si_code says a process sent the signal, so si_pid and si_uid
// name it (SIGCHLD also fills them, with the child's).
inline bool CodeHasSender(int signo, int code) {
  return code == SI_USER || code == SI_QUEUE || code == SI_TKILL ||
         (signo == SIGCHLD && code > 0);
}

inline bool CodeHasValue(int code) {
  return code == SI_QUEUE || code == SI_TIMER || code == SI_MESGQ;
}

// Async-signal-safe: plain field copies.
inline SignalRecord RecordFromSiginfo(int signo, const siginfo_t* info) {
  SignalRecord record;
  if (info == nullptr) return record;
  record.code = info->si_code;
  if (CodeHasSender(signo, info->si_code)) {
    record.pid = info->si_pid;
    record.uid = info->si_uid;
  }
  if (CodeHasValue(info->si_code)) {
    record.has_value = true;
    record.value = reinterpret_cast<intptr_t>(info->si_value.sival_ptr);
  }
  return record;
}

}  // namespace platform
}  // namespace portsig

#endif  // PORTSIG_PLATFORM_SIGNAL_RECORD_H_
