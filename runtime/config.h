// The runtime's settings and where their defaults come from.
//
// Three knobs, each with one name used everywhere (option field, environment
// variable, documentation):
//   sigqueue           PORTSIG_SIGQUEUE=posix|note   which queue backend
//   spin_before_sleep  PORTSIG_SPIN_BEFORE_SLEEP=50us
//   restore_delay      PORTSIG_RESTORE_DELAY=10ms
//
// Promises to runtime.cc, and through runtime.h to os_signal (the backend
// enum and its names): the environment is a source of defaults and nothing
// more. A malformed variable never makes a setting fail; it is left out of
// the defaults and described in a problem string that Backend() and
// sigwatch report. Validate() is the one place that knows each knob's
// legal range, for the environment and Configure alike.
#ifndef PORTSIG_RUNTIME_CONFIG_H_
#define PORTSIG_RUNTIME_CONFIG_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace portsig {
namespace runtime {

enum class QueueBackend { kPosix, kNote };

absl::string_view QueueBackendName(QueueBackend backend);
std::optional<QueueBackend> ParseQueueBackend(absl::string_view name);

// Each field that is set replaces the current value; unset fields keep it.
struct SettingsUpdate {
  std::optional<QueueBackend> sigqueue;
  std::optional<absl::Duration> spin_before_sleep;
  std::optional<absl::Duration> restore_delay;
};

// InvalidArgument naming the field and the value when a set field is out of
// range (spin 0..10ms, restore delay 0..1s).
absl::Status Validate(const SettingsUpdate& update);

// Defaults read from the environment: the well-formed, in-range variables
// as a SettingsUpdate, and one sentence per variable that was neither.
struct EnvironmentDefaults {
  SettingsUpdate values;
  std::string sigqueue_problem;
  std::string spin_before_sleep_problem;
  std::string restore_delay_problem;
};

// `lookup` is getenv in production; tests pass their own.
EnvironmentDefaults ReadEnvironment(const char* (*lookup)(const char* name));

}  // namespace runtime
}  // namespace portsig

#endif  // PORTSIG_RUNTIME_CONFIG_H_
