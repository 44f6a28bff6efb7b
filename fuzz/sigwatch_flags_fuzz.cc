// Fuzz target for sigwatch's flag checks: the input is the text of its
// flags, one per line in this order (missing lines keep the default):
//
//   --signals  --format  --backend  --count  --buffer  --timeout  --grace
//
// Each value goes through what sigwatch does with it: Abseil's parser for
// the typed flags (text Abseil refuses makes sigwatch exit 1 before any
// check, so it stops there), then tools/'s checks. Properties: no crash or
// undefined behaviour on any text (fuzz/run.sh and the replay test's
// --config=ubsan run), every refusal is InvalidArgument quoting the flag's
// value, and what is accepted is usable: a signal list is non-empty, free
// of repeats, catchable and parses back from its own names; numbers are in
// range.
//
// Entry point: libFuzzer's LLVMFuzzerTestOneInput. fuzz/run.sh builds it
// with clang; //fuzz:sigwatch_flags_replay_test replays
// fuzz/sigwatch_flags_corpus in every `bazel test //...`.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/flags/marshalling.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "os_signal/signal.h"
#include "tools/flag_checks.h"
#include "tools/reporter.h"
#include "tools/signal_list.h"

namespace portsig {
namespace sigwatch {
namespace {

// A refusal must be InvalidArgument and quote `quoted` (the value).
void CheckRefusal(const absl::Status& status, absl::string_view input,
                  absl::string_view quoted) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, input,
             status.ToString());
  FUZZ_CHECK(
      absl::StrContains(status.message(), quoted), input,
      absl::StrCat(status.ToString(), " does not quote \"", quoted, "\""));
}

void CheckSignals(absl::string_view text) {
  absl::StatusOr<std::vector<Signal>> signals = ParseSignalList(text);
  if (!signals.ok()) {
    CheckRefusal(signals.status(), text, "--signals");
    return;
  }
  FUZZ_CHECK(!signals->empty(), text, "empty list accepted");
  for (size_t i = 0; i < signals->size(); ++i) {
    const Signal& s = (*signals)[i];
    FUZZ_CHECK(!s.is_note() && s.Validate().ok(), text, s.ToString());
    for (size_t j = 0; j < i; ++j) {
      FUZZ_CHECK((*signals)[j] != s, text, "repeat of " + s.ToString());
    }
  }
  const std::string names = JoinSignalNames(*signals);
  absl::StatusOr<std::vector<Signal>> again = ParseSignalList(names);
  FUZZ_CHECK(again.ok() && *again == *signals, text,
             absl::StrCat("\"", names, "\" does not parse back"));
}

void CheckFormat(absl::string_view text) {
  absl::StatusOr<Format> format = ParseFormat(text);
  if (!format.ok()) {
    CheckRefusal(format.status(), text, text);
    return;
  }
  FUZZ_CHECK(text == "text" || text == "json", text, "accepted");
}

void CheckBackendFlag(absl::string_view text) {
  absl::Status status = CheckBackend(text);
  if (!status.ok()) {
    CheckRefusal(status, text, text);
    return;
  }
  FUZZ_CHECK(text.empty() || text == "posix" || text == "note", text,
             "accepted");
}

template <typename T>
bool ParseLikeAbseil(absl::string_view text, T* value) {
  std::string error;
  return absl::ParseFlag(text, value, &error);
}

void CheckCountFlag(absl::string_view text) {
  int64_t count;
  if (!ParseLikeAbseil(text, &count)) return;
  absl::Status status = CheckCount(count);
  FUZZ_CHECK(status.ok() == (count >= 0), text, status.ToString());
  if (!status.ok()) CheckRefusal(status, text, absl::StrCat("--count=", count));
}

void CheckBufferFlag(absl::string_view text) {
  int64_t buffer;
  if (!ParseLikeAbseil(text, &buffer)) return;
  absl::StatusOr<size_t> capacity = CheckBuffer(buffer);
  // Refused below zero, and above what size_t holds: never on a 64-bit ABI,
  // from 2^32 on a 32-bit one.
  const bool fits = buffer >= 0 && static_cast<uint64_t>(buffer) <=
                                       std::numeric_limits<size_t>::max();
  if (!capacity.ok()) {
    FUZZ_CHECK(!fits, text, capacity.status().ToString());
    CheckRefusal(capacity.status(), text, absl::StrCat("--buffer=", buffer));
    return;
  }
  FUZZ_CHECK(fits && *capacity == static_cast<uint64_t>(buffer), text,
             absl::StrCat("capacity ", *capacity));
}

void CheckDurationFlag(absl::string_view flag, absl::string_view text) {
  absl::Duration value;
  if (!ParseLikeAbseil(text, &value)) return;
  absl::Status status = CheckDuration(flag, value);
  FUZZ_CHECK(status.ok() == (value >= absl::ZeroDuration()), text,
             status.ToString());
  if (!status.ok()) CheckRefusal(status, text, absl::StrCat("--", flag, "="));
}

}  // namespace
}  // namespace sigwatch
}  // namespace portsig

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portsig::sigwatch;  // NOLINT: one entry point.
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  auto line = [&](size_t i) {
    return i < lines.size() ? lines[i] : absl::string_view();
  };
  if (lines.size() > 0) CheckSignals(line(0));
  if (lines.size() > 1) CheckFormat(line(1));
  if (lines.size() > 2) CheckBackendFlag(line(2));
  if (lines.size() > 3) CheckCountFlag(line(3));
  if (lines.size() > 4) CheckBufferFlag(line(4));
  if (lines.size() > 5) CheckDurationFlag("timeout", line(5));
  if (lines.size() > 6) CheckDurationFlag("grace", line(6));
  return 0;
}
