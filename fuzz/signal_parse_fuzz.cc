// Fuzz target for Signal::Parse and the name table under it: any text must
// parse to a valid signal or be refused with InvalidArgument, never crash
// or overflow (built with -fsanitize=undefined by fuzz/run.sh and by the
// replay test's --config=ubsan run), and what parses must round-trip:
// parsing a signal's own name gives the same signal back.
//
// Also checks, from the input's first four bytes as an int, that
// Signal(number) validates exactly when the number is catchable and that
// naming any int is safe.
//
// Entry point: libFuzzer's LLVMFuzzerTestOneInput. fuzz/run.sh builds it
// with clang; //fuzz:signal_parse_replay_test replays fuzz/signal_parse_corpus
// in every `bazel test //...`.
#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "os_signal/signal_value.h"
#include "platform/signal_names.h"

namespace portsig {
namespace {

void CheckParse(absl::string_view text) {
  absl::StatusOr<Signal> parsed = Signal::Parse(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               text, parsed.status().ToString());
    FUZZ_CHECK(!parsed.status().message().empty(), text, "empty message");
    return;
  }
  FUZZ_CHECK(parsed->Validate().ok(), text, parsed->Validate().ToString());
  if (parsed->is_note()) {
    // A text note only comes from "note:TEXT"; it parses back from there.
    absl::StatusOr<Signal> again =
        Signal::Parse(absl::StrCat("note:", parsed->note()));
    FUZZ_CHECK(
        again.ok() && *again == *parsed, text,
        absl::StrCat("note \"", parsed->note(), "\" does not parse back"));
    return;
  }
  const int number = parsed->number();
  FUZZ_CHECK(number >= 1 && number <= platform::kMaxSignal, text,
             absl::StrCat("number ", number));
  const std::string name = parsed->ToString();
  absl::StatusOr<Signal> again = Signal::Parse(name);
  FUZZ_CHECK(
      again.ok() && *again == *parsed, text,
      absl::StrCat(number, " is named \"", name, "\", which parses to ",
                   again.ok() ? again->ToString() : again.status().ToString()));
  // Its number parses back too.
  absl::StatusOr<Signal> by_number = Signal::Parse(absl::StrCat(number));
  FUZZ_CHECK(by_number.ok() && *by_number == *parsed, text,
             absl::StrCat("\"", number, "\" does not parse back"));
}

void CheckNumber(int number) {
  const Signal signal(number);
  const bool catchable = number >= 1 && number <= platform::kMaxSignal &&
                         number != SIGKILL && number != SIGSTOP &&
                         !platform::IsReservedSignal(number);
  const std::string as_text = absl::StrCat(number);
  FUZZ_CHECK(signal.Validate().ok() == catchable, as_text,
             signal.Validate().ToString());
  FUZZ_CHECK(!signal.ToString().empty(), as_text, "empty name");
  // The async-signal-safe lookups take any int.
  const char* name = platform::SignalName(number);
  FUZZ_CHECK(
      (name != nullptr) == (number >= 1 && number <= platform::kMaxSignal),
      as_text, "SignalName range");
  (void)platform::SignalNoteName(number);
}

}  // namespace
}  // namespace portsig

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  portsig::CheckParse(text);
  // The name lookups on their own, as the handler map and tools call them.
  (void)portsig::platform::SignalFromName(text);
  (void)portsig::platform::SignalFromNoteName(text);
  (void)portsig::Signal::Note(text).Validate();
  if (size >= sizeof(int)) {
    int number;
    std::memcpy(&number, data, sizeof(number));
    portsig::CheckNumber(number);
  }
  return 0;
}
