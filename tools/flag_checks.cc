#include "tools/flag_checks.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace portsig {
namespace sigwatch {

absl::Status CheckBackend(absl::string_view backend) {
  if (backend.empty() || backend == "posix" || backend == "note") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--backend=\"", backend, "\" is not posix or note"));
}

absl::StatusOr<size_t> CheckBuffer(int64_t buffer) {
  if (buffer < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--buffer=", buffer, " must not be negative"));
  }
  // Every non-negative int64_t fits where size_t has 64 bits; say so if a
  // platform's size_t is narrower rather than truncate.
  if (static_cast<uint64_t>(buffer) > std::numeric_limits<size_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--buffer=", buffer, " is more than ",
                     std::numeric_limits<size_t>::max()));
  }
  return static_cast<size_t>(buffer);
}

absl::Status CheckCount(int64_t count) {
  if (count >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--count=", count, " must not be negative"));
}

absl::Status CheckDuration(absl::string_view flag, absl::Duration value) {
  if (value >= absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, "=", absl::FormatDuration(value), " must not be negative"));
}

}  // namespace sigwatch
}  // namespace portsig
