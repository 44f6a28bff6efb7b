#include "os_signal/wanted.h"

#include "os_signal/signal_value.h"
#include "os_signal/subscriber.h"

namespace portsig {
namespace os_signal_internal {

void WantedDeleter::operator()(Wanted* wanted) const { delete wanted; }

bool Wanted::Wants(const runtime::ReceivedSignal& received) const {
  if (received.signo != 0) return signals.test(received.signo);
  return all_notes || (notes != nullptr && notes->contains(received.note));
}

bool Wanted::AddNote(const std::string& note) {
  if (notes == nullptr) {
    notes = std::make_unique<HashSet<std::string>>();
  }
  // Copied before it goes in (table.h).
  return notes->insert(std::string(note)).second;
}

bool Wanted::RemoveNote(const std::string& note) {
  return notes != nullptr && notes->erase(note) > 0;
}

const SignalBits& CatchableSignals() {
  static const auto* catchable = [] {
    auto* set = new SignalBits();
    for (int s = 1; s <= platform::kMaxSignal; ++s) {
      // Faults are not "incoming signals" in Go's sense: they are relayed
      // only when asked for by number.
      if (Signal(s).Validate().ok() && !platform::IsSynchronousSignal(s)) {
        set->set(s);
      }
    }
    return set;
  }();
  return *catchable;
}

}  // namespace os_signal_internal
}  // namespace portsig
