// portsig::Delivery: one signal handed to a channel, with what the kernel
// said about it: who sent it, how, the sigqueue value, and how many
// occurrences it stands for.
//
// Promises:
// - occurrences counts every occurrence the handler relayed since the
//   channel's previous delivery of that signal was made (repeats of a
//   signal coalesce on the posix backend, or when the note backend's queue
//   is full); across a channel's deliveries the counts never under-report
//   what the handler saw while the channel was subscribed. It is 1 for an
//   occurrence kept in a real-time queue (NotifyOptions::queue_capacity).
// - When several occurrences were coalesced, the sender fields describe a
//   recent one, not necessarily the last.
// - Text notes carry this process as sender, with code SI_USER.
//
// Thread safety: a value type, as std::string. Distinct objects: safe.
// Shared objects: safe for const calls only; assigning to one while another
// thread reads it is a data race. Not for use in a signal handler (it may
// allocate).
#ifndef PORTSIG_OS_SIGNAL_DELIVERY_H_
#define PORTSIG_OS_SIGNAL_DELIVERY_H_

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "os_signal/signal_value.h"

namespace portsig {

struct Delivery {
  Signal signal = 0;
  // siginfo's si_code: SI_USER (kill), SI_QUEUE (sigqueue), SI_TKILL
  // (tgkill), SI_KERNEL, SI_TIMER, ..., or a signal-specific positive code.
  int code = SI_USER;
  // The sending process and its real uid when has_sender(); otherwise 0.
  pid_t sender_pid = 0;
  uid_t sender_uid = 0;
  // The sigval of sigqueue(), a POSIX timer or a message queue
  // notification, as sent: read sival_int or sival_ptr, whichever the
  // sender set (the kernel copies the union's bytes and keeps no type).
  std::optional<sigval> value;
  uint64_t occurrences = 1;

  // True when a process sent it (kill, sigqueue, tgkill), for a text note
  // (this process posted it), or for SIGCHLD, where the "sender" is the
  // child.
  bool has_sender() const;
  // "kill", "sigqueue", "tkill", "kernel", "timer", "mesgq", "asyncio",
  // "sigio", "note", or for SIGCHLD "exited", "killed", "dumped",
  // "trapped", "stopped", "continued"; "code N" for anything else.
  std::string CodeName() const;
  // One line for logs: "SIGINT from pid 42 uid 1000 (kill)", plus
  // " value 7" (sival_int) for a sigqueue value and " x3" for coalesced
  // occurrences, in that order.
  std::string ToString() const;
};

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_DELIVERY_H_
