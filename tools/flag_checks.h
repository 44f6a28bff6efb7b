// The checks sigwatch makes of its flags' values once Abseil has parsed
// them (Abseil refuses text that is not an integer or a duration; these
// refuse values that are, but make no sense). Each error is InvalidArgument
// quoting the flag and the value given, so the one line sigwatch prints
// says what to change.
#ifndef PORTSIG_TOOLS_FLAG_CHECKS_H_
#define PORTSIG_TOOLS_FLAG_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace portsig {
namespace sigwatch {

// --backend: empty (the environment or build default), "posix" or "note".
absl::Status CheckBackend(absl::string_view backend);

// --buffer: the channel's capacity, 0 (unbuffered) up to what size_t holds.
absl::StatusOr<size_t> CheckBuffer(int64_t buffer);

// --count: 0 (no limit) or more.
absl::Status CheckCount(int64_t count);

// --timeout and --grace: zero or more (infinite is allowed).
absl::Status CheckDuration(absl::string_view flag, absl::Duration value);

}  // namespace sigwatch
}  // namespace portsig

#endif  // PORTSIG_TOOLS_FLAG_CHECKS_H_
