// NotifyOptions: how Notify and NotifyContext relay the signals they list.
//
// The defaults are Go's: relay every occurrence until Stop, coalescing
// repeats of a signal that the channel has not taken yet.
//
// Thread safety: a plain struct, read by the calls that take it and not
// kept after they return. Distinct objects: safe. Shared objects: safe to read
// from many threads; writing one while another thread reads it is a data race.
#ifndef PORTSIG_OS_SIGNAL_NOTIFY_OPTIONS_H_
#define PORTSIG_OS_SIGNAL_NOTIFY_OPTIONS_H_

#include <cstdint>

namespace portsig {

struct NotifyOptions {
  // Relay the first occurrence of each listed signal, then stop relaying it
  // to this channel, and put back what portsig stands in for (the
  // disposition from before portsig, or what the host installed since) if
  // nobody else wants it: the second Ctrl-C then kills the process, as users
  // of command-line tools expect. As race-free as Stop: a second occurrence
  // either reaches the channel too or takes the restored disposition. For a
  // context, the first of its signals releases all of them.
  bool once = false;

  // Real-time signals (SIGRTMIN..SIGRTMAX) only: instead of coalescing,
  // keep every occurrence, each as its own Delivery with its own sender and
  // value, up to this many waiting per signal (1..1024; 0: coalesce).
  // Occurrences beyond that are counted into one later Delivery. The
  // kernel queues these signals too; this keeps them queued on the way to
  // the channel. With several channels, the largest capacity asked for
  // applies to the signal.
  uint32_t queue_capacity = 0;
};

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_NOTIFY_OPTIONS_H_
