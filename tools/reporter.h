// Reporter: everything sigwatch prints about deliveries, in one place so the
// text and JSON formats say the same things.
//
// One line per delivery, flushed at once so a reader on a pipe sees it
// without waiting for exit:
//   text: 0.812345 SIGUSR1 (10) backend=posix count=1 [action=forward]
//         [pid=4242 uid=1000] code=kill [value=42] [occurrences=3]
//   json: {"t":0.812345,"signal":"SIGUSR1","number":10,"backend":"posix",
//          "count":1[,"action":"forward"][,"pid":4242,"uid":1000],
//          "code":"kill","si_code":0[,"value":42],"occurrences":1}
// and a summary at exit: per watched signal the deliveries seen and the
// occurrences they stood for, then the totals, including what was lost.
// Text summary lines start with "summary" (never with a number), so they
// cannot be mistaken for deliveries.
//
// A write that fails (a pipe whose reader is gone, with SIGPIPE ignored or
// watched; a full disk; a closed descriptor) is recorded, and from then on
// the Reporter writes nothing: each further attempt on a broken pipe would
// raise another SIGPIPE, which sigwatch may itself be catching and
// reporting, a loop that never blocks. The caller decides what a lost
// report means (watch mode exits 1; relay mode relays on).
//
// `t` is seconds on the monotonic clock since the given start, taken when
// sigwatch received the signal from its channel (not when the kernel raised
// it). `count` is the running total of deliveries over all signals.
// The sender (see portsig::Delivery) follows the fields above:
// - pid and uid of the sending process, only when it has one (kill,
//   sigqueue, tgkill; not for a signal the kernel raised);
// - code: Delivery::CodeName() ("kill", "sigqueue", "kernel", ...); in text
//   an unnamed code prints as its number, in JSON si_code always has it;
// - value: the sigqueue (or timer, message queue) value, when there is one;
// - occurrences: how many occurrences this delivery stands for (repeats
//   coalesce); text prints it only when it is not 1.
#ifndef PORTSIG_TOOLS_REPORTER_H_
#define PORTSIG_TOOLS_REPORTER_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "os_signal/signal.h"

namespace portsig {
namespace sigwatch {

enum class Format { kText, kJson };

// "text" or "json"; InvalidArgument otherwise.
absl::StatusOr<Format> ParseFormat(absl::string_view name);

struct Summary {
  // Why sigwatch stopped: "count", "timeout", "interrupted", "child-exited",
  // "child-signaled", "output-error" (stdout could not be written).
  std::string reason;
  // Deliveries the channel refused because it was full (in relay mode this
  // includes the SIGCHLDs sigwatch subscribes to for reaping).
  uint64_t dropped = 0;
  // The signal occurrences those dropped deliveries stood for.
  uint64_t dropped_occurrences = 0;
  // Deliveries that were in the channel when sigwatch stopped reading.
  uint64_t unread = 0;
  // Signals the note backend's queue refused (process-wide).
  uint64_t queue_overflows = 0;
  // Relay mode: the status sigwatch exits with.
  std::optional<int> exit_code;
};

class Reporter {
 public:
  using Clock = std::chrono::steady_clock;

  Reporter(Format format, std::string backend, std::vector<Signal> watched,
           Clock::time_point start, FILE* out);

  // Prints the line for one delivery; `action` (relay mode: "forward",
  // "kill") is omitted when empty.
  void Report(const Delivery& delivery, absl::string_view action = "");
  // Deliveries reported.
  uint64_t count() const { return count_; }

  void PrintSummary(const Summary& summary);

  // The errno of the first write that failed, or 0; once set, Report and
  // PrintSummary write nothing more.
  int write_error() const { return write_error_; }

  // The summary lists only the watched signals that were delivered (relay
  // mode watches every signal; a line for each would bury the few seen).
  void OmitUndeliveredFromSummary() { omit_undelivered_ = true; }

 private:
  double Elapsed() const;
  // Writes `text` and flushes it, unless a write has failed before.
  void Write(const std::string& text);

  const Format format_;
  const std::string backend_;
  const std::vector<Signal> watched_;
  const Clock::time_point start_;
  FILE* const out_;
  uint64_t count_ = 0;
  uint64_t occurrences_ = 0;
  bool omit_undelivered_ = false;
  int write_error_ = 0;
  // Parallel to watched_.
  std::vector<uint64_t> per_signal_;
  std::vector<uint64_t> per_signal_occurrences_;
};

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_REPORTER_H_
