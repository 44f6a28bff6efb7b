#include "os_signal/signal_value.h"

#include <algorithm>
#include <csignal>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "platform/signal_names.h"

namespace portsig {
namespace {

// An optional sign and at least one digit, nothing else.
bool IsInteger(absl::string_view text) {
  if (!absl::ConsumePrefix(&text, "-")) absl::ConsumePrefix(&text, "+");
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return absl::ascii_isdigit(c);
  });
}

// "RTMIN..." or "SIGRTMAX...", any case: a name in the real-time family,
// valid or not.
bool IsRealTimeName(absl::string_view text) {
  std::string upper = absl::AsciiStrToUpper(text);
  absl::string_view bare = upper;
  absl::ConsumePrefix(&bare, "SIG");
  return absl::StartsWith(bare, "RTMIN") || absl::StartsWith(bare, "RTMAX");
}

}  // namespace

Signal Signal::Note(absl::string_view text) {
  if (int signo = platform::SignalFromNoteName(text); signo != 0) {
    return Signal(signo);
  }
  return Signal(std::string(text));
}

absl::StatusOr<Signal> Signal::Parse(absl::string_view text) {
  absl::string_view input = absl::StripAsciiWhitespace(text);
  if (absl::ConsumePrefix(&input, "note:")) {
    Signal note = Note(input);
    if (absl::Status valid = note.Validate(); !valid.ok()) return valid;
    return note;
  }
  int number = 0;
  if (absl::SimpleAtoi(input, &number)) {
    Signal signal(number);
    if (absl::Status valid = signal.Validate(); !valid.ok()) return valid;
    return signal;
  }
  if (IsInteger(input)) {
    // Too large for an int: out of range whatever its value.
    return absl::InvalidArgumentError(absl::StrCat("signal number \"", input,
                                                   "\" is out of range 1..",
                                                   platform::kMaxSignal));
  }
  int signo = platform::SignalFromNoteName(input);
  if (signo == 0) signo = platform::SignalFromName(input);
#ifdef SIGRTMIN
  if (signo == 0 && IsRealTimeName(input)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", input,
        "\" is not a real-time signal here: SIGRTMIN+N or SIGRTMAX-N with N "
        "in 0..",
        SIGRTMAX - SIGRTMIN, ", written in decimal digits"));
  }
#endif
  if (signo == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown signal name \"", text, "\""));
  }
  Signal signal(signo);
  if (absl::Status valid = signal.Validate(); !valid.ok()) return valid;
  return signal;
}

std::string Signal::ToString() const {
  if (is_note()) return note_;
  if (const char* name = platform::SignalName(number_)) return name;
  return absl::StrCat("signal ", number_);
}

absl::Status Signal::Validate() const {
  if (is_note()) {
    if (note_.empty()) return absl::InvalidArgumentError("empty note");
    if (note_.size() > platform::kMaxNoteLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "note \"", note_.substr(0, 20), "...\" is ", note_.size(),
          " bytes, longer than ", platform::kMaxNoteLength));
    }
    if (note_.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "note \"", absl::CHexEscape(note_), "\" contains a NUL byte"));
    }
    return absl::OkStatus();
  }
  if (number_ < 1 || number_ > platform::kMaxSignal) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signal ", number_, " is out of range 1..", platform::kMaxSignal));
  }
  if (number_ == SIGKILL || number_ == SIGSTOP) {
    return absl::InvalidArgumentError(absl::StrCat(
        platform::SignalName(number_), " cannot be caught or ignored"));
  }
  if (platform::IsReservedSignal(number_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal ", number_, " is reserved by the C library"));
  }
  return absl::OkStatus();
}

}  // namespace portsig
