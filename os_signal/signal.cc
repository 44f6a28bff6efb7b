#include "os_signal/signal.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "os_signal/handler_map.h"
#include "platform/sync.h"
#include "runtime/runtime.h"

namespace portsig {

class HandlerMapAccess {
 public:
  static os_signal_internal::Subscriber* Of(SignalChannel& ch) {
    return ch.AsSubscriber();
  }
};

absl::Status Notify(SignalChannel& ch, absl::Span<const Signal> signals) {
  return Notify(ch, signals, NotifyOptions());
}

// The calls below are not cancellation points: a cancellation pending for
// the calling thread acts after they return. Inside they wait, poll and
// write(2) to ready descriptors, all cancellation points, some under locks;
// a thread cancelled there would leave a Stop half done (its channel parked
// for ever) or a lock held.
// Notify, Stop, Reset and Ignore hold cancellation off inside the handler
// map (HandlerMap's class comment), which is all they do: a second
// pthread_setcancelstate pair here cost each Notify+Stop four calls. There
// Notify and Stop hold it off only from the first step that may reach a
// cancellation point, which a Notify+Stop of a signal others also want
// never does (issue 14: the four calls were 30% of that pair's cost).

absl::Status Notify(SignalChannel& ch, absl::Span<const Signal> signals,
                    const NotifyOptions& options) {
  return os_signal_internal::HandlerMap::Get().Add(HandlerMapAccess::Of(ch),
                                                   signals, options);
}

void Stop(SignalChannel& ch) {
  os_signal_internal::HandlerMap::Get().Remove(HandlerMapAccess::Of(ch));
}

absl::Status Reset(absl::Span<const Signal> signals) {
  return os_signal_internal::HandlerMap::Get().Reset(signals);
}

absl::Status Ignore(absl::Span<const Signal> signals) {
  return os_signal_internal::HandlerMap::Get().Ignore(signals);
}

bool Ignored(const Signal& signal) {
  if (signal.is_note() || !signal.Validate().ok()) return false;
  return runtime::Ignored(signal.number());
}

absl::Status PostNote(absl::string_view text) {
  ScopedCancellationOff cancellation;
  Signal note = Signal::Note(text);
  if (absl::Status valid = note.Validate(); !valid.ok()) return valid;
  if (!note.is_note()) {
    if (kill(getpid(), note.number()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("kill ", note.ToString()));
    }
    return absl::OkStatus();
  }
  if (absl::StartsWith(text, "sys:")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "note \"", text, "\" is reserved for the system (sys: prefix)"));
  }
  // The queue only knows whether any note is wanted; ask about this one so
  // that a note nobody wants is refused rather than dropped after queuing.
  if (runtime::BackendName() == "note" &&
      !os_signal_internal::HandlerMap::Get().WantsNote(text)) {
    return absl::NotFoundError(
        absl::StrCat("no channel wants note \"", text, "\""));
  }
  return runtime::QueueNote(text);
}

absl::StatusOr<std::string> Backend() {
  const std::string name(
      runtime::QueueBackendName(runtime::CurrentSettings().sigqueue));
  if (std::string problems = runtime::EnvironmentProblems();
      !problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(problems, "; running on ", name));
  }
  return name;
}

uint64_t QueueOverflows() { return runtime::QueueOverflows(); }

absl::Status Configure(const Options& options) {
  runtime::SettingsUpdate update;
  if (options.sigqueue.has_value()) {
    switch (*options.sigqueue) {
      case SigQueue::kPosix:
        update.sigqueue = runtime::QueueBackend::kPosix;
        break;
      case SigQueue::kNote:
        update.sigqueue = runtime::QueueBackend::kNote;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("sigqueue ", static_cast<int>(*options.sigqueue),
                         " is not a backend (posix or note)"));
    }
  }
  update.spin_before_sleep = options.spin_before_sleep;
  update.restore_delay = options.restore_delay;
  return runtime::Configure(update);
}

Options CurrentOptions() {
  const runtime::Settings now = runtime::CurrentSettings();
  Options options;
  options.sigqueue = now.sigqueue == runtime::QueueBackend::kNote
                         ? SigQueue::kNote
                         : SigQueue::kPosix;
  options.spin_before_sleep = now.spin_before_sleep;
  options.restore_delay = now.restore_delay;
  return options;
}

}  // namespace portsig
