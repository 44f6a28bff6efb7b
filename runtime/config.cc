#include "runtime/config.h"

#include "absl/strings/str_cat.h"
#include "platform/spin.h"
#include "runtime/deferred_restore.h"

namespace portsig {
namespace runtime {
namespace {

absl::Status CheckRange(absl::string_view field, absl::Duration value,
                        absl::Duration max) {
  if (value >= absl::ZeroDuration() && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " ", absl::FormatDuration(value), " is outside 0..",
                   absl::FormatDuration(max)));
}

// Reads one duration variable into *out; returns the problem, if any.
std::string ReadDuration(const char* (*lookup)(const char*), const char* name,
                         absl::string_view field, absl::Duration max,
                         std::optional<absl::Duration>* out) {
  const char* text = lookup(name);
  if (text == nullptr || text[0] == '\0') return "";
  absl::Duration value;
  if (!absl::ParseDuration(text, &value)) {
    return absl::StrCat(name, "=\"", text,
                        "\" is not a duration such as 50us; ignored");
  }
  if (absl::Status s = CheckRange(field, value, max); !s.ok()) {
    return absl::StrCat(name, "=\"", text, "\": ", s.message(), "; ignored");
  }
  *out = value;
  return "";
}

}  // namespace

absl::string_view QueueBackendName(QueueBackend backend) {
  return backend == QueueBackend::kNote ? "note" : "posix";
}

std::optional<QueueBackend> ParseQueueBackend(absl::string_view name) {
  if (name == "posix") return QueueBackend::kPosix;
  if (name == "note") return QueueBackend::kNote;
  return std::nullopt;
}

absl::Status Validate(const SettingsUpdate& update) {
  if (update.sigqueue.has_value() && *update.sigqueue != QueueBackend::kPosix &&
      *update.sigqueue != QueueBackend::kNote) {
    return absl::InvalidArgumentError(
        absl::StrCat("sigqueue ", static_cast<int>(*update.sigqueue),
                     " is not a backend (posix or note)"));
  }
  if (update.spin_before_sleep.has_value()) {
    absl::Status s = CheckRange("spin_before_sleep", *update.spin_before_sleep,
                                platform::kMaxSpinBeforeSleep);
    if (!s.ok()) return s;
  }
  if (update.restore_delay.has_value()) {
    absl::Status s =
        CheckRange("restore_delay", *update.restore_delay, kMaxRestoreDelay);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

EnvironmentDefaults ReadEnvironment(const char* (*lookup)(const char* name)) {
  EnvironmentDefaults env;
  if (const char* name = lookup("PORTSIG_SIGQUEUE");
      name != nullptr && name[0] != '\0') {
    env.values.sigqueue = ParseQueueBackend(name);
    if (!env.values.sigqueue.has_value()) {
      env.sigqueue_problem =
          absl::StrCat("PORTSIG_SIGQUEUE=\"", name,
                       "\" is not a backend (posix or note); ignored");
    }
  }
  env.spin_before_sleep_problem = ReadDuration(
      lookup, "PORTSIG_SPIN_BEFORE_SLEEP", "spin_before_sleep",
      platform::kMaxSpinBeforeSleep, &env.values.spin_before_sleep);
  env.restore_delay_problem =
      ReadDuration(lookup, "PORTSIG_RESTORE_DELAY", "restore_delay",
                   kMaxRestoreDelay, &env.values.restore_delay);
  return env;
}

}  // namespace runtime
}  // namespace portsig
