// portsig::Signal: a POSIX signal number or a Plan 9 style note.
//
// Converts implicitly from int, so Notify(ch, {SIGINT, SIGTERM}) reads
// naturally. A note with a standard name ("interrupt", "hangup", "term", ...
// see platform/signal_names.h) is the same Signal as the host signal, so
// portable code works on either backend. Construction never fails; Notify and
// friends reject invalid values with a Status that names them.
//
// Thread safety: a value type, as std::string. Distinct objects: safe.
// Shared objects: safe for const calls only; assigning to one while another
// thread reads it is a data race. Not for use in a signal handler (it may
// allocate).
#ifndef PORTSIG_OS_SIGNAL_SIGNAL_VALUE_H_
#define PORTSIG_OS_SIGNAL_SIGNAL_VALUE_H_

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portsig {

class Signal {
 public:
  // A POSIX signal number (validated when used).
  Signal(int number) : number_(number) {}  // NOLINT: implicit by design.

  // A note. Standard note names become their signal.
  static Signal Note(absl::string_view text);

  // Parses user input: "SIGINT", "INT", "int", "2", "interrupt",
  // "SIGRTMIN+3", or "note:TEXT" for a text note. The grammar: a signal name
  // with or without "SIG", in any case; a real-time name RTMIN, RTMIN+N,
  // RTMAX or RTMAX-N (the same), N decimal digits only ("SIGRTMIN+03" is
  // SIGRTMIN+3; no sign, no space); a decimal number, at most a leading
  // '+'; a note name; "note:TEXT". Whitespace around the whole text is
  // ignored, none inside it is. Any text is safe to parse: what is not a
  // valid signal (an unknown or malformed name, a number of any size
  // outside 1..NSIG-1, a real-time offset beyond SIGRTMAX) gets
  // InvalidArgument quoting it.
  static absl::StatusOr<Signal> Parse(absl::string_view text);

  bool is_note() const { return is_note_; }
  // The signal number; 0 for a text note.
  int number() const { return number_; }
  // The note text; empty for a signal number.
  const std::string& note() const { return note_; }

  // "SIGINT", the note text, or "signal N" for an out-of-range number.
  std::string ToString() const;

  // OK, or InvalidArgument naming the value: numbers outside 1..NSIG-1,
  // SIGKILL, SIGSTOP, numbers the C library reserves, empty or over-long
  // notes, notes containing NUL.
  absl::Status Validate() const;

  friend bool operator==(const Signal& a, const Signal& b) {
    return a.is_note_ == b.is_note_ && a.number_ == b.number_ &&
           a.note_ == b.note_;
  }
  friend bool operator!=(const Signal& a, const Signal& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const Signal& s) {
    return H::combine(std::move(h), s.is_note_, s.number_, s.note_);
  }

 private:
  explicit Signal(std::string note)
      : number_(0), is_note_(true), note_(std::move(note)) {}

  int number_;
  bool is_note_ = false;
  std::string note_;
};

}  // namespace portsig

#endif  // PORTSIG_OS_SIGNAL_SIGNAL_VALUE_H_
