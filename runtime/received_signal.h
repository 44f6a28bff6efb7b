// ReceivedSignal: what the runtime hands os_signal for each signal or text
// note it takes from the queue (runtime.h's DeliveryCallback). The runtime
// owns this type so that os_signal depends on the runtime's contract, not
// on the queue's layout (platform/sigqueue.h): how a backend stores a note
// or counts occurrences can change without os_signal knowing.
//
// A view, valid only during the callback: `note` points into the queue's
// own storage, so handing a note over copies nothing. A subscriber that
// keeps the text copies it (Signal::Note does).
#ifndef PORTSIG_RUNTIME_RECEIVED_SIGNAL_H_
#define PORTSIG_RUNTIME_RECEIVED_SIGNAL_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "platform/signal_record.h"

namespace portsig {
namespace runtime {

struct ReceivedSignal {
  // The signal number, or 0 for a text note.
  int signo = 0;
  // The note's text (signo 0); empty for a signal.
  absl::string_view note;
  // Who sent (the latest of) the occurrences it stands for, and how.
  platform::SignalRecord record;
  // How many occurrences it stands for (at least 1).
  uint64_t occurrences = 0;
};

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_RECEIVED_SIGNAL_H_
